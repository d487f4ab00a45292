"""This app's part of data protection: a customer's rows exported, erased, and old messages
deleted past their inbox's retention. The console (hilconsole.retention) calls these together
with the other apps' own."""

from django.db import transaction
from django.forms.models import model_to_dict

from conversations.models import AuditEvent, Conversation, Customer, CustomerToken, Message

ERASED = {"erased": True}


def delete_in_batches(queryset, batch: int) -> int:
    """Delete what `queryset` selects, `batch` rows per transaction (short locks, bounded work)."""
    deleted = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += queryset.model.objects.filter(pk__in=ids).delete()[1].get(queryset.model._meta.label, 0)


def update_in_batches(queryset, batch: int, **values) -> int:
    """Set `values` on what `queryset` selects (it must no longer select a row once updated)."""
    updated = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return updated
        updated += queryset.model.objects.filter(pk__in=ids).update(**values)


def customer_export(customer: Customer) -> dict:
    conversations = customer.conversations.order_by("pk")
    return {
        "customer": model_to_dict(customer, exclude=["inbox"]) | {"inbox": customer.inbox.name,
                                                                    "created_at": customer.created_at},
        "conversations": [
            model_to_dict(conversation, exclude=["customer", "inbox", "assignee", "released_by"])
            | {"id": conversation.pk, "inbox": customer.inbox.name, "created_at": conversation.created_at,
               "messages": [
                   {"id": m.pk, "sender": m.sender, "author": m.author_name if m.sender != "customer" else "",
                    "content": m.content, "created_at": m.created_at}
                   for m in conversation.messages.select_related("author").order_by("pk")
               ]}
            for conversation in conversations
        ],
    }  # fmt: skip


def customer_erase(customer: Customer) -> dict:
    """Call inside a transaction. Messages go; the conversations stay for the figures, without
    their texts; the customer stays as an anonymous visitor."""
    conversations = Conversation.objects.filter(customer=customer)
    ids = list(conversations.values_list("pk", flat=True))
    messages = Message.objects.filter(conversation_id__in=ids)
    message_ids = list(messages.values_list("pk", flat=True))
    erased = {"messages": messages.delete()[1].get("conversations.Message", 0)}
    erased["conversations"] = conversations.update(handover_summary="", csat_comment="")
    CustomerToken.objects.filter(customer=customer).delete()
    Customer.objects.filter(pk=customer.pk).update(identifier=None, name="", email="", custom_attributes={})
    erased["audit_events"] = audit_scrub([
        ("conversations.customer", [customer.pk]), ("conversations.conversation", ids),
        ("conversations.message", message_ids),
    ])  # fmt: skip
    return erased


def audit_scrub(targets: list[tuple[str, list[int]]]) -> int:
    """Keep these objects' audit events (who did what, when) but not the values they recorded,
    which may quote the customer. A queryset update: the model refuses to change an event."""
    scrubbed = 0
    for target_type, ids in targets:
        if ids:
            events = AuditEvent.objects.filter(target_type=target_type, target_id__in=[str(pk) for pk in ids])
            scrubbed += events.update(before=ERASED, after=ERASED)
    return scrubbed


def retention_purge(inbox_id: int, before, batch: int) -> dict:
    """Messages older than `before`, and the summaries and comments of conversations quiet since."""
    old = Message.objects.filter(conversation__inbox_id=inbox_id, created_at__lt=before)
    quiet = Conversation.objects.filter(inbox_id=inbox_id, last_message_at__lt=before).exclude(
        handover_summary="", csat_comment=""
    )
    return {
        "messages": delete_in_batches(old, batch),
        "conversation_texts": update_in_batches(quiet, batch, handover_summary="", csat_comment=""),
    }
