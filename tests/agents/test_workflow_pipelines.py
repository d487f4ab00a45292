"""The back-office workflows on the engine, run in this process on the local model: a document
mapped chunk by chunk and reduced into a report, and refund claims extracted, checked against the
demo shop, assessed and decided (automatically, or by a reviewer)."""

import copy
from datetime import timedelta

import pytest
from django.urls import reverse

from agents.models import Application, DocumentAnalysis, LLMCall, PipelineRun, PipelineVersion, RunItem
from agents.workflows import documents, services
from reviews import review_tasks
from reviews.models import ReviewTask
from reviews.services import inbox_grant
from tests.agents.workflows import back_office, document, run_here


def analyse(user, text: str, *, signoff: bool = False) -> DocumentAnalysis:
    inbox, (analysis_workflow, _) = back_office(user)
    analysis = services.analysis_submit(
        user, workflow=analysis_workflow, inbox=inbox, title="Supply contract",
        document=documents.document_text(text.encode()), requires_signoff=signoff,
    )  # fmt: skip
    run_here(analysis.runs.get())
    analysis.refresh_from_db()
    return analysis


@pytest.mark.django_db
def test_a_document_is_analysed_chunk_by_chunk_into_a_report_with_its_sources(reviewer):
    analysis = analyse(reviewer, document(7))

    report = analysis.report
    assert analysis.status == "final" and analysis.pages == 7
    assert report["chunks"] == {"total": 4, "analysed": 4, "failed": 0}
    penalties = [finding for finding in report["findings"] if "penalty of EUR 500" in finding["text"]]
    assert penalties and penalties[0]["severity"] == "high"
    assert {finding["chunk"] for finding in report["findings"]} == {0, 1, 2, 3}
    assert penalties[0]["pages"] in ([1, 2], [3, 4], [5, 6], [7, 7])
    values = {kind: {entity["value"] for entity in found} for kind, found in report["entities"].items()}
    assert "Mr. John Carter" in values["people"] and "Acme Supplies Ltd" in values["organisations"]
    assert "12 March 2025" in values["dates"] and "EUR 500" in values["amounts"]
    assert {"penalties", "termination", "automatic renewal"} <= {flag["flag"] for flag in report["risk_flags"]}
    assert report["executive_summary"] and report["failed_chunks"] == []


@pytest.mark.django_db
def test_a_report_that_needs_signing_off_waits_for_a_reviewer_and_is_final_once_approved(reviewer):
    analysis = analyse(reviewer, document(3), signoff=True)
    assert analysis.status == "awaiting_signoff"
    task = ReviewTask.objects.get(kind="signoff")
    assert task.brief["analysis_id"] == analysis.pk and task.brief["findings"] > 0

    review_tasks.review_task_decide(reviewer, task.pk, "approve", comment="Checked against the original.")
    run_here(analysis.runs.get())

    analysis.refresh_from_db()
    assert (analysis.status, analysis.signed_off_by) == ("final", "Rita")
    assert analysis.signoff_comment == "Checked against the original."


@pytest.mark.django_db
def test_a_report_rejected_at_signoff_says_why(reviewer):
    analysis = analyse(reviewer, document(2), signoff=True)
    task = ReviewTask.objects.get(kind="signoff")

    with pytest.raises(review_tasks.DecisionInvalid, match="Say why"):
        review_tasks.review_task_decide(reviewer, task.pk, "reject")
    with pytest.raises(review_tasks.DecisionInvalid, match="approved or rejected"):
        review_tasks.review_task_decide(reviewer, task.pk, "respond", message="Hi")
    review_tasks.review_task_decide(reviewer, task.pk, "reject", comment="Pages 4 to 6 are missing.")
    run_here(analysis.runs.get())

    analysis.refresh_from_db()
    assert (analysis.status, analysis.signoff_comment) == ("rejected", "Pages 4 to 6 are missing.")


# Applications -------------------------------------------------------------------------------------


def claim(user, *, customer="shop-ana", **fields) -> Application:
    inbox, (_, refund_claim) = back_office(user)
    application = services.application_submit(
        user, workflow=refund_claim, inbox=inbox, applicant={"name": "A customer", "customer_id": customer},
        documents=[{"name": "claim.txt", "text": "The parcel arrived broken.\nReason: arrived broken"}],
        fields=fields,
    )  # fmt: skip
    run_here(application.runs.get())
    application.refresh_from_db()
    return application


@pytest.fixture
def shop(demo_orders_committed, demo_shop_api):
    return demo_shop_api


@pytest.mark.django_db(transaction=True)
def test_a_low_risk_claim_is_approved_automatically_with_its_reasons(reviewer, shop):
    application = claim(reviewer, order_number="100234", amount=20)

    assert (application.status, application.decision, application.decided_by) == ("approved", "approve", "AI")
    assert application.fields == {"order_number": "100234", "amount": 20, "reason": "arrived broken"}
    assert application.risk_level == "low" and not ReviewTask.objects.exists()
    assert application.runs.get().status == PipelineRun.Status.FINISHED


@pytest.mark.django_db(transaction=True)
def test_a_low_risk_claim_that_breaks_a_hard_rule_is_rejected_with_the_rule_as_reason(reviewer, shop):
    application = claim(reviewer, order_number="100235", amount=30)  # only €24.50 on the order

    assert (application.status, application.decision) == ("rejected", "reject")
    assert application.decision_reasons == ["The claim is more than what is left to refund on the order."]


@pytest.mark.django_db(transaction=True)
def test_a_claim_over_100_euros_waits_for_a_reviewer_who_decides_it(reviewer, shop):
    application = claim(reviewer, customer="shop-marc", order_number="100412", amount=120)

    assert application.status == "in_review" and application.risk_level == "high"
    task = ReviewTask.objects.get(kind="application")
    assert task.brief["recommendation"]["decision"] == "approve"
    assert "The claim is over €100." in task.brief["risk_factors"] and task.brief["fields"]["amount"] == 120
    assert abs(task.deadline - task.created_at - timedelta(hours=48)) < timedelta(seconds=5)
    assert abs(task.escalate_at - task.created_at - timedelta(hours=24)) < timedelta(seconds=5)  # at half time

    review_tasks.review_task_decide(reviewer, task.pk, "approve", comment="Photos show the damage.")
    run_here(application.runs.get())

    application.refresh_from_db()
    assert (application.status, application.decided_by) == ("approved", "Rita")
    assert application.decision_reasons == ["Photos show the damage."]


@pytest.mark.django_db(transaction=True)
def test_with_the_model_check_on_fields_the_documents_do_not_bear_out_fail_softly_and_raise_the_risk(reviewer, shop):
    _, (_, refund_claim) = back_office(reviewer)
    agent = refund_claim.ai_agent
    graph = copy.deepcopy(agent.pipeline_version.graph)
    next(node for node in graph["nodes"] if node["id"] == "checks")["llm_check"] = True
    agent.pipeline_version = PipelineVersion.objects.create(pipeline=agent.pipeline_version.pipeline, number=2,
                                                            graph=graph)  # fmt: skip
    agent.save(update_fields=["pipeline_version"])

    application = claim(reviewer, order_number="100234", amount=20)  # neither is in the claim's text

    (check,) = [rule for rule in application.validation["failed"] if rule["name"] == "documents_agree"]
    assert not check["hard"] and "order_number" in check["message"] and "amount" in check["message"]
    assert "reason" not in check["message"]  # "arrived broken" is in the text
    assert application.risk_level == "medium"
    assert any(factor.startswith("Check failed:") for factor in application.risk_factors)


@pytest.mark.django_db(transaction=True)
def test_a_claim_waiting_for_a_reviewer_is_hidden_from_an_agent_of_its_inbox_who_does_not_review(
    reviewer, support_agent, shop, client
):
    application = claim(reviewer, customer="shop-marc", order_number="100412", amount=120)
    task = ReviewTask.objects.get(kind="application")
    inbox_grant(support_agent, application.inbox)  # Ana works the inbox, but reviews nothing

    client.force_login(support_agent)
    assert client.get(reverse("desk:application", args=[application.pk])).status_code == 200
    assert client.get(reverse("desk:review", args=[task.pk])).status_code == 404
    decided = client.post(reverse("desk:review_decide", args=[task.pk]), {"decision": "approve"})
    assert decided.status_code == 404 and client.get(f"/api/v1/review-tasks/{task.pk}").status_code == 404
    client.force_login(reviewer)
    assert client.get(reverse("desk:review", args=[task.pk])).status_code == 200
    task.refresh_from_db()
    assert task.status == "open"


@pytest.mark.django_db(transaction=True)
def test_a_claim_on_an_order_already_refunded_is_high_risk(reviewer, shop):
    application = claim(reviewer, customer="shop-lena", order_number="100578", amount=10)

    assert application.status == "in_review"
    assert "The order was already refunded." in application.risk_factors


@pytest.mark.django_db(transaction=True)
def test_a_claim_missing_what_the_schema_requires_is_flagged_and_goes_to_a_person(reviewer, shop):
    inbox, (_, refund_claim) = back_office(reviewer)
    application = services.application_submit(
        reviewer, workflow=refund_claim, inbox=inbox, applicant={"customer_id": "shop-ana"},
        documents=[{"name": "note.txt", "text": "Please give me my money back."}], fields={"amount": -3},
    )  # fmt: skip
    run = run_here(application.runs.get())

    extraction = run.state["extraction"]
    assert extraction["flagged"] and any("amount" in problem for problem in extraction["problems"])
    extract_calls = [step for step in run.steps.all() if step.node == "extract"]
    assert len(extract_calls) == 1 and extract_calls[0].output["extraction"]["flagged"]
    # The model was asked twice: once, then again with the problems, before the fields were flagged.
    assert LLMCall.objects.filter(run_id=run.pk, purpose="extract").count() == 2
    assert run.state["risk"]["unsure"] and Application.objects.get().status == "in_review"


@pytest.mark.django_db
def test_every_chunk_is_an_item_of_its_own_and_none_is_left_open(reviewer):
    analysis = analyse(reviewer, document(5))

    items = RunItem.objects.filter(run__analysis=analysis).order_by("index")
    assert [item.input["pages"] for item in items] == [[1, 2], [3, 4], [5, 5]]
    assert {item.status for item in items} == {"done"} and all(item.attempts == 1 for item in items)


@pytest.mark.django_db
def test_the_admin_shows_an_analysis_progress_and_reloads_only_while_it_runs(admin_client, reviewer):
    analysis = analyse(reviewer, document(5))
    RunItem.objects.filter(run__analysis=analysis, index=2).update(status="running")
    DocumentAnalysis.objects.filter(pk=analysis.pk).update(status="analysing")
    page = reverse("admin:agents_documentanalysis_change", args=[analysis.pk])
    listing = reverse("admin:agents_documentanalysis_changelist")

    running = admin_client.get(page).content.decode()
    assert "2 of 3 chunks" in running and 'http-equiv="refresh"' in running
    assert 'http-equiv="refresh"' in admin_client.get(listing).content.decode()
    RunItem.objects.filter(run__analysis=analysis).update(status="done")
    DocumentAnalysis.objects.filter(pk=analysis.pk).update(status="final")
    final = admin_client.get(page).content.decode()
    assert "3 of 3 chunks" in final and 'http-equiv="refresh"' not in final and "executive_summary" in final
