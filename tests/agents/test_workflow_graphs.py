"""Graphs are checked per kind of pipeline: only a chat turn's needs a handover node, each kind
uses its own node types, and the workflows' node settings are checked beyond their types. In the
admin a pipeline keeps its kind, and a workflow runs an AI agent of its own kind. A workflow's
run that cannot go on fails, and its submission says why."""

import copy
import json

import pytest
from django.urls import reverse

from agents.models import AIAgent, Application, Pipeline, PipelineRun, Workflow
from agents.pipelines import nodes
from agents.pipelines.defaults import CUSTOMER_SUPPORT_GRAPH
from agents.pipelines.graph import graph_problems
from agents.workflows import services
from agents.workflows.defaults import DOCUMENT_ANALYSIS_GRAPH, REFUND_CLAIM_GRAPH
from tests.agents.workflows import back_office, run_here


def test_the_shipped_workflow_graphs_need_no_handover_node():
    assert graph_problems(DOCUMENT_ANALYSIS_GRAPH, "document_analysis") == []
    assert graph_problems(REFUND_CLAIM_GRAPH, "application") == []
    problems = graph_problems(REFUND_CLAIM_GRAPH, "turn")
    assert "node 'extract' has unknown type 'extract' (known in a chat turn pipeline: guard," in problems[0]


def claim_graph(change) -> dict:
    graph = copy.deepcopy(REFUND_CLAIM_GRAPH)
    change({node["id"]: node for node in graph["nodes"]}, graph)
    return graph


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda n, g: g["nodes"].append({"id": "answer", "type": "answer"}),
         "node 'answer' has unknown type 'answer' (known in an application review pipeline: "),
        (lambda n, g: n["extract"].update(schema={"type": "object", "properties": {"a": {"type": "thing"}}}),
         "node 'extract' (extract): its schema is not a valid JSON schema"),
        (lambda n, g: n["extract"].update(schema={"type": "string"}), "its schema must be an object with properties"),
        (lambda n, g: n["checks"]["rules"].append({"name": "x", "when": "fields.amount >"}),
         "node 'checks' (validate): rule 3 invalid condition"),
        (lambda n, g: n["risk"]["rules"].append({"when": "fields.amount > `1`", "level": "extreme", "factor": "x"}),
         "node 'risk' (assess_risk): rule 3 needs a level: low, medium, high, critical"),
        (lambda n, g: n["risk"].update(unsure_below=2.0), "unsure_below is a confidence between 0 and 1"),
        (lambda n, g: n["order"].update(tool="request_refund"),
         "node 'order' (lookup): request_refund is gated: a workflow may only look things up with safe tools"),
        (lambda n, g: n["order"].update(tool="launch_rocket"), "there is no tool named 'launch_rocket'"),
        (lambda n, g: n["review"].update(review="signoff"), "An application review pipeline reviews as 'application'"),
        (lambda n, g: n["checks"].update(llm_check="yes"), "node 'checks' setting 'llm_check' must be a bool"),
        (lambda n, g: g["edges"].remove({"from": "notify", "to": "done"}), "node 'notify' never reaches a finish sink"),
    ],
)  # fmt: skip
def test_a_broken_workflow_graph_is_refused_naming_the_node(change, problem):
    problems = graph_problems(claim_graph(change), "application")

    assert any(problem in found for found in problems), problems


def test_a_map_and_its_reduce_are_checked_together():
    graph = copy.deepcopy(DOCUMENT_ANALYSIS_GRAPH)
    graph["nodes"][0]["max_attempts"] = 0
    graph["nodes"][1]["from"] = "signoff"

    problems = graph_problems(graph, "document_analysis")

    assert "node 'map' (map): max_attempts must be at least 1" in problems
    assert "node 'reduce' (reduce): needs `from`: the id of the map node whose items it merges" in problems


@pytest.mark.django_db
def test_in_the_admin_a_pipeline_is_checked_for_its_kind_and_keeps_it(admin_client, site_admin):
    back_office(site_admin)
    pipeline = Pipeline.objects.get(name="document_analysis")
    url = reverse("admin:agents_pipeline_change", args=[pipeline.pk])
    form = {"name": pipeline.name, "kind": "turn", "description": "", "note": "", "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0", "graph": json.dumps(CUSTOMER_SUPPORT_GRAPH)}  # fmt: skip

    response = admin_client.post(url, form)

    assert response.status_code == 200 and "known in a document analysis pipeline" in response.content.decode()
    assert Pipeline.objects.get(pk=pipeline.pk).kind == "document_analysis" and pipeline.versions.count() == 1


@pytest.mark.django_db
def test_a_workflow_runs_an_ai_agent_of_its_own_kind(admin_client, site_admin, support_inbox):
    back_office(site_admin)
    workflow = Workflow.objects.get(name="refund_claim")
    url = reverse("admin:agents_workflow_change", args=[workflow.pk])
    data = {"name": "refund_claim", "kind": "application", "title": "Refund claim", "inbox": workflow.inbox_id,
            "ai_agent": AIAgent.objects.get(name="Support assistant").pk, "decision_deadline_seconds": 172800,
            "escalate_after_seconds": 86400, "on_expiry": "reject", "enabled": "on"}  # fmt: skip

    response = admin_client.post(url, data)

    assert response.status_code == 200 and "choose one whose pipeline is an application review pipeline" in (
        response.content.decode()
    )
    admin_client.post(url, data | {"ai_agent": workflow.ai_agent_id, "escalate_after_seconds": 172800})
    assert Workflow.objects.get(pk=workflow.pk).escalate_after_seconds == 86400  # escalation comes before the deadline


@pytest.mark.django_db
def test_a_workflow_whose_node_keeps_failing_fails_with_the_reason(reviewer, monkeypatch):
    inbox, (_, refund_claim) = back_office(reviewer)

    def broken(turn, node):
        raise RuntimeError("the extraction service is down")

    monkeypatch.setitem(nodes.NODES, "extract", broken)
    application = services.application_submit(reviewer, workflow=refund_claim, inbox=inbox,
                                              applicant={"name": "Cleo"}, documents=[], fields={})  # fmt: skip
    run = run_here(application.runs.get())

    assert (run.status, run.reason) == (PipelineRun.Status.FAILED, "repeated_errors")
    assert [step.status for step in run.steps.order_by("index")] == ["error", "error", "error", "ok"]
    failed = Application.objects.get(pk=application.pk)
    assert (failed.status, failed.reason) == ("failed", "repeated_errors") and failed.finished_at
