"""Data protection across the apps: retention per inbox (a nightly beat task, in batches), and
forgetting or exporting one customer. Each app erases, exports and purges only its own rows
(`<app>/privacy.py`); this module calls them in order, from the top app down, and audits."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from agents import privacy as agents_privacy
from conversations import privacy as conversations_privacy
from conversations.audit import audit_record
from conversations.models import Customer, Inbox
from reviews import privacy as reviews_privacy

logger = logging.getLogger(__name__)


def retention_sweep(now=None) -> dict:
    """Delete, per inbox, what is older than its retention: messages, run states and steps, tool
    calls, review tasks, model calls' error texts. Rollups and audit events stay."""
    now = now or timezone.now()
    batch = settings.RETENTION_BATCH_SIZE
    report = {}
    for inbox in Inbox.objects.order_by("pk"):
        before = now - timedelta(days=inbox.retention_days)
        counts = (reviews_privacy.retention_purge(inbox.pk, before, batch)
                  | agents_privacy.retention_purge(inbox.pk, before, batch)
                  | conversations_privacy.retention_purge(inbox.pk, before, batch))  # fmt: skip
        if any(counts.values()):
            audit_record(actor="retention", action="inbox.retention_applied", target=inbox,
                         after={"before": before.isoformat(), **counts})  # fmt: skip
            logger.info("Retention of %s (%s days): %s", inbox, inbox.retention_days, counts)
        report[inbox.name] = counts
    return report


class UnknownCustomer(Exception):
    pass


def customers_matching(reference: str) -> list[Customer]:
    """The customer with this id, or every customer (one per inbox) with this email address."""
    reference = reference.strip()
    if reference.isdigit():
        found = list(Customer.objects.filter(pk=int(reference)))
    else:
        try:
            validate_email(reference)
        except ValidationError:
            raise UnknownCustomer(f"{reference!r} is neither a customer id nor an email address.") from None
        found = list(Customer.objects.filter(email__iexact=reference).order_by("pk"))
    if not found:
        raise UnknownCustomer(f"No customer is known as {reference!r}.")
    return found


def customer_export_data(customer: Customer) -> dict:
    """Everything the console holds about the customer, as JSON-ready data."""
    data = conversations_privacy.customer_export(customer)
    ids = [conversation["id"] for conversation in data["conversations"]]
    applications = agents_privacy.applications_export(agents_privacy.applications_of(customer))
    return data | agents_privacy.customer_export(ids) | reviews_privacy.customer_export(ids) | applications


@transaction.atomic
def customer_forget(customer_id: int, *, actor) -> dict:
    """Erase the customer's words and identity everywhere they were copied; the figures stay.
    The erasure is audited, with counts and no personal data."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    ids = list(customer.conversations.values_list("pk", flat=True))
    reviews_erased, reviews_targets = reviews_privacy.customer_erase(ids)
    agents_erased, agents_targets = agents_privacy.customer_erase(ids)
    applied, applied_targets = _applications_forget(customer)
    erased = reviews_erased | agents_erased | applied
    erased["audit_events"] = conversations_privacy.audit_scrub(reviews_targets + agents_targets + applied_targets)
    conversation_counts = conversations_privacy.customer_erase(customer)
    erased["audit_events"] += conversation_counts.pop("audit_events")
    erased |= conversation_counts
    erased["admin_log_entries"] = _admin_log_forget(customer)
    audit_record(actor=actor, action="customer.forgotten", target=customer, after=erased)
    return erased


def _applications_forget(customer: Customer) -> tuple[dict, list[tuple[str, list[int]]]]:
    """The applications the customer made (by their email or shop id) and their review tasks."""
    application_ids = agents_privacy.applications_of(customer)
    reviewed, reviewed_targets = reviews_privacy.runs_erase(agents_privacy.application_run_ids(application_ids))
    applied, applied_targets = agents_privacy.applications_erase(application_ids)
    return reviewed | applied, reviewed_targets + applied_targets


def _admin_log_forget(customer: Customer) -> int:
    """The admin's own history names the customer (their name or email) and what was changed."""
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Customer),
                                      object_id=str(customer.pk))  # fmt: skip
    return entries.update(object_repr=f"Forgotten customer #{customer.pk}", change_message="")
