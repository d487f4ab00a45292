"""Data protection covers the back office: forgetting a customer erases the applications they
made (found by their email or shop id) with their runs, tool calls and review tasks, leaving no
copy of their words; exports include them; retention deletes old analyses and applications."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Application, DocumentAnalysis, PipelineRun, RunItem
from agents.workflows import services
from agents.workflows.documents import document_text
from hilconsole.retention import customer_export_data, customer_forget, retention_sweep
from reviews.models import ReviewTask
from tests.agents.workflows import back_office, run_here
from tests.hilconsole.test_privacy import EMAIL, WORDS, copies_of, customer_with_history

pytestmark = pytest.mark.django_db


def claim_by(user, inbox, workflow, email: str, words: str = "a vase", name: str = "Dora") -> Application:
    """A claim in the applicant's words; over €100, so a reviewer reads it too."""
    application = services.application_submit(
        user, workflow=workflow, inbox=inbox, applicant={"name": name, "email": email},
        documents=[{"name": "claim.txt", "text": f"Order number: 100234\nAmount: €150\nReason: {words} broke"}],
        fields={}, callback_url="https://shop.example/decisions",
    )  # fmt: skip
    run_here(application.runs.get())
    return Application.objects.get(pk=application.pk)


def test_forgetting_a_customer_erases_their_applications_and_what_reviewers_read_of_them(
    support_inbox, reviewer, settings
):
    settings.DEMO_SHOP_URL = "http://127.0.0.1:9"  # nothing answers: the order lookup fails fast
    customer = customer_with_history(support_inbox)
    inbox, (_, refund_claim) = back_office(reviewer)
    mine = claim_by(reviewer, inbox, refund_claim, EMAIL.upper(), WORDS, "Cleo Zebra")
    other = claim_by(reviewer, inbox, refund_claim, "dora@example.org")
    assert mine.status == "in_review" and ReviewTask.objects.filter(kind="application").count() == 2
    assert {"agents.Application.applicant", "agents.Application.documents", "reviews.ReviewTask.brief",
            "agents.RunStep.output"} <= set(copies_of(EMAIL) + copies_of(WORDS))  # fmt: skip
    exported = customer_export_data(customer)
    assert [application["id"] for application in exported["applications"]] == [mine.pk]

    erased = customer_forget(customer.pk, actor="admin")

    assert (copies_of(WORDS), copies_of(EMAIL), copies_of("Cleo Zebra")) == ([], [], [])
    assert erased["applications"] == 1 and erased["application_review_tasks"] == 1
    mine.refresh_from_db()
    assert (mine.status, mine.risk_level) == ("in_review", "high")  # the figures stay
    assert Application.objects.get(pk=other.pk).applicant["email"] == "dora@example.org"


def test_retention_deletes_old_analyses_and_applications_with_their_runs(support_inbox, reviewer, settings):
    settings.DEMO_SHOP_URL = "http://127.0.0.1:9"
    inbox, (analysis_workflow, refund_claim) = back_office(reviewer)
    inbox.retention_days = 30
    inbox.save()
    analyses = []
    for title in ("Old lease", "New lease"):
        document = document_text(b"Rent is due monthly.")
        analysis = services.analysis_submit(reviewer, workflow=analysis_workflow, inbox=inbox, title=title,
                                            document=document, requires_signoff=False)  # fmt: skip
        run_here(analysis.runs.get())
        analyses.append(analysis)
    old_claim = claim_by(reviewer, inbox, refund_claim, "old@example.org")
    ReviewTask.objects.update(status="approved")
    Application.objects.filter(pk=old_claim.pk).update(status="approved")
    long_ago = timezone.now() - timedelta(days=31)
    DocumentAnalysis.objects.filter(pk=analyses[0].pk).update(created_at=long_ago)
    Application.objects.filter(pk=old_claim.pk).update(created_at=long_ago)

    report = retention_sweep()

    assert report["Back office"]["document_analyses"] == 1 and report["Back office"]["applications"] == 1
    assert list(DocumentAnalysis.objects.values_list("title", flat=True)) == ["New lease"]
    assert not Application.objects.exists()
    assert set(PipelineRun.objects.exclude(conversation__isnull=False).values_list("analysis_id", flat=True)) == {
        analyses[1].pk
    }
    assert not RunItem.objects.filter(run__analysis_id=analyses[0].pk).exists()
