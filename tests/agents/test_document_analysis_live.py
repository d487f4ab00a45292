"""Documents analysed end to end: submitted to the real ASGI server, mapped chunk by chunk on a
live Celery worker and reduced into a report; a worker killed in the middle of the map step loses
no chunk and repeats only the one it was working on; a chunk the model cannot read is retried,
then reported; a report that needs signing off waits for a reviewer."""

import os
import signal

import pytest

from agents.llm.keys import encrypt_api_key
from agents.models import AIAgent, Deployment, DocumentAnalysis, ModelProfile, RunItem
from tests.agents.openai_server import OpenAIServer
from tests.agents.workflows import api_client, back_office, document
from tests.conftest import worker_children
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rita(reviewer):
    back_office(reviewer)
    return reviewer


@pytest.fixture
def api(live_server_url, rita):
    with api_client(live_server_url, rita) as client:
        yield client


@pytest.fixture
def analyst():
    """The map step's model is a test server's `analyst` (the rest stays on the local model)."""
    with OpenAIServer() as server:
        profile = ModelProfile.objects.create(name="analyst")
        Deployment.objects.create(profile=profile, model="openai/analyst", api_base=server.api_base,
                                  api_key_encrypted=encrypt_api_key("sk-test"), timeout_seconds=30)  # fmt: skip
        AIAgent.objects.filter(name="Document analyst").update(node_profiles={"map": "analyst"})
        yield server


def submit(api, text: str, **fields) -> int:
    response = api.post("/api/v1/analyses", files={"file": ("contract.txt", text.encode())}, data=fields)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def settled(api, analysis_id: int, done=("final", "rejected", "failed", "awaiting_signoff"), timeout=120) -> dict:
    """The analysis once the workers are done with it (final, rejected, failed, or waiting to be signed off)."""
    wait_until(lambda: DocumentAnalysis.objects.get(pk=analysis_id).status in done, "the analysis", timeout)
    return api.get(f"/api/v1/analyses/{analysis_id}").json()


def test_a_60_page_document_is_analysed_on_the_worker_with_every_chunk_accounted_for(live_worker, api):
    analysis = settled(api, submit(api, document(60), title="Supply contract"))

    report = analysis["report"]
    assert analysis["status"] == "final" and analysis["pages"] == 60
    assert analysis["progress"] == {"done": 30, "failed": 0, "total": 30, "percent": 100}
    assert report["chunks"] == {"total": 30, "analysed": 30, "failed": 0} and report["failed_chunks"] == []
    assert {finding["chunk"] for finding in report["findings"]} == set(range(30))
    assert sorted({tuple(finding["pages"]) for finding in report["findings"]}) == [
        (first, first + 1) for first in range(1, 60, 2)
    ]
    assert report["executive_summary"] and {"penalties", "termination"} <= {f["flag"] for f in report["risk_flags"]}


def test_a_worker_killed_during_the_map_step_loses_no_chunk_and_repeats_only_the_unfinished_one(
    live_worker, api, analyst
):
    analyst.gate("analyst")
    analysis_id = submit(api, document(16))
    for _ in range(3):
        analyst.next_call("analyst")
        analyst.let_through("analyst")
    analyst.next_call("analyst")  # the worker is inside the fourth chunk's model call

    for pid in worker_children(live_worker):
        os.kill(pid, signal.SIGKILL)
    analyst.let_through("analyst")  # its answer goes to a process that is gone
    analyst.gates.pop("analyst")

    analysis = settled(api, analysis_id)
    items = list(RunItem.objects.filter(run__analysis_id=analysis_id).order_by("index"))
    assert analysis["status"] == "final" and analysis["report"]["chunks"] == {"total": 8, "analysed": 8, "failed": 0}
    assert {item.status for item in items} == {"done"}
    assert sorted(item.attempts for item in items) == [1] * 7 + [2]  # only the interrupted chunk ran again
    assert analyst.requests["analyst"] == 9  # eight chunks, one of them twice


def test_a_chunk_that_keeps_failing_is_retried_then_reported_and_the_rest_is_analysed(live_worker, api, analyst):
    analysis = settled(api, submit(api, document(6, marker="UNREADABLE scan of a stamp")))

    report = analysis["report"]
    assert analysis["status"] == "final" and analysis["progress"]["failed"] == 1
    assert report["chunks"] == {"total": 3, "analysed": 2, "failed": 1}
    (failed,) = report["failed_chunks"]
    assert (failed["chunk"], failed["pages"], failed["attempts"]) == (1, [3, 4], 3)
    assert "cannot read this part" in failed["error"]
    assert {finding["chunk"] for finding in report["findings"]} == {0, 2}


def test_a_report_to_sign_off_waits_for_a_reviewer_whose_approval_makes_it_final(live_worker, api):
    analysis_id = submit(api, document(4), requires_signoff="true")
    assert settled(api, analysis_id)["status"] == "awaiting_signoff"

    (task,) = api.get("/api/v1/review-tasks?status=open").json()["results"]
    assert task["kind"] == "signoff" and task["brief"]["analysis_id"] == analysis_id
    decided = api.post(f"/api/v1/review-tasks/{task['id']}/decision",
                       json={"decision": "approve", "comment": "Matches the signed copy."})  # fmt: skip
    assert decided.status_code == 200, decided.text

    analysis = settled(api, analysis_id, done=("final", "rejected"))
    assert analysis["status"] == "final"
    assert analysis["signoff"] == {"status": "approved", "by": "Rita", "comment": "Matches the signed copy."}
