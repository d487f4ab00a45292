"""The console scaled out as docs/deploy.md lays it out: two web processes (uvicorn, each on its
own port, as two machines behind a load balancer would be) and two Celery worker nodes with
their own names, plus beat, on one PostgreSQL and one Redis. Nothing a customer or an agent
sees may depend on which process served them."""

import os
import re
import signal
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.test import Client
from websockets.sync.client import connect

from agents.models import ModelProfile, PipelineRun
from conversations.models import AuditEvent, Conversation, Message
from hilconsole.celery import app as celery_app
from hilconsole.schedules import schedules_install
from reviews.roles import SUPPORT_AGENT
from reviews.services import human_agent_profile_ensure, inbox_grant
from tests.agents.openai_server import OpenAIServer
from tests.agents.test_turns_live import Customer, served_by
from tests.conftest import LOG_DIR, _answers_http, person, worker_answers_ping
from tests.processes import ConsoleProcess, free_port, python_command, wait_until
from tests.reviews.conftest import hand_over
from tests.test_deploy_files import active_queues

pytestmark = pytest.mark.django_db(transaction=True)

NODES = ("scale-1@localhost", "scale-2@localhost")
# Beat hands a turn that made no progress this long to a worker again (the default is a minute).
STALLED_SECONDS = "2"


class Cluster:
    """Web A, web B and the worker nodes; each node consumes every queue, as without -Q."""

    def __init__(self, env: dict[str, str]):
        self.env = {**env, "AI_TURN_STALLED_SECONDS": STALLED_SECONDS}
        self.webs = {name: self._web(name) for name in ("web-a", "web-b")}
        self.nodes = {hostname: self._node(hostname) for hostname in NODES}

    def _web(self, name: str) -> ConsoleProcess:
        url = f"http://127.0.0.1:{free_port()}"
        argv = python_command("-m", "uvicorn", "hilconsole.asgi:application", "--port", url.rsplit(":", 1)[1])
        web = ConsoleProcess(name, argv, self.env, lambda: _answers_http(f"{url}/healthz"), LOG_DIR)
        web.url = url
        return web

    def _node(self, hostname: str) -> ConsoleProcess:
        argv = python_command(
            "-m", "celery", "-A", "hilconsole", "worker", "--pool=prefork", "--concurrency=1",
            f"--hostname={hostname}", "--loglevel=INFO", "--without-mingle", "--without-gossip",
        )  # fmt: skip
        name = hostname.split("@")[0]
        return ConsoleProcess(name, argv, self.env, lambda: worker_answers_ping(hostname), LOG_DIR)

    def start(self, processes: list[ConsoleProcess]) -> None:
        # Side by side: on a loaded machine each takes seconds to import the console.
        with ThreadPoolExecutor(max(len(processes), 1)) as pool:
            for started in [pool.submit(process.start, 120) for process in processes]:
                started.result()

    def revive(self) -> None:
        """Start again any node a test killed."""
        self.start([node for node in self.nodes.values() if node.process.poll() is not None])

    def stop(self) -> None:
        for process in [*self.webs.values(), *self.nodes.values()]:
            process.stop()


@pytest.fixture(scope="module")
def cluster(console_env):
    purge()  # turn requests of earlier tests' customers are not for these nodes
    cluster = Cluster(console_env)
    try:
        cluster.start([*cluster.webs.values(), *cluster.nodes.values()])
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def nodes_up(cluster):
    cluster.revive()
    yield cluster
    purge()


def purge() -> None:
    # A fresh broker connection: a test may have restarted Redis under the pooled ones.
    with celery_app.connection_for_write() as broker:
        celery_app.control.purge(connection=broker)


@pytest.fixture
def beat(cluster, transactional_db):
    """Starts Celery beat (one for the whole deployment) once the test installed its schedules;
    stopped before the test's rows are emptied."""
    from django_celery_beat.models import PeriodicTask

    started = []

    def start(schedules: dict[str, tuple[str, int]]) -> ConsoleProcess:
        PeriodicTask.objects.all().delete()
        schedules_install(schedules)
        argv = python_command("-m", "celery", "-A", "hilconsole", "beat", "--loglevel=INFO", "--pidfile=")
        process = ConsoleProcess("beat", argv, cluster.env, lambda: "beat: Starting" in process.log_tail(), LOG_DIR)
        process.log_path.unlink(missing_ok=True)
        started.append(process.start(120))
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def desk_team(live_support_inbox, django_user_model):
    """Ana and Ben work the support inbox."""
    team = []
    for name in ("ana", "ben"):
        agent = person(django_user_model, name, SUPPORT_AGENT, is_staff=True)
        human_agent_profile_ensure(agent, skills=[], max_concurrent=3)
        inbox_grant(agent, live_support_inbox)
        client = Client()
        client.force_login(agent)
        team.append(client.cookies["sessionid"].value)
    return team


def desk_socket(web: ConsoleProcess, session_key: str, path: str = "/ws/desk/"):
    return connect(
        web.url.replace("http", "ws") + path, origin=web.url, open_timeout=30,
        additional_headers={"Cookie": f"sessionid={session_key}"},
    ).__enter__()  # fmt: skip


def frame_with(socket, text: str, timeout: float = 60) -> str:
    """The first frame the socket receives that contains `text`."""
    while text not in (frame := socket.recv(timeout=timeout)):
        pass
    return frame


def test_a_customer_on_one_web_process_reaches_desks_on_the_other_and_a_claim_shows_on_both(
    nodes_up, live_support_inbox, desk_team
):
    web_a, web_b = nodes_up.webs["web-a"], nodes_up.webs["web-b"]
    ana_key, ben_key = desk_team
    ana_desk, ben_desk = desk_socket(web_b, ana_key), desk_socket(web_a, ben_key)
    customer = Customer(web_a.url, live_support_inbox)

    customer.say("I want to talk to a human")

    cid = customer.conversation_id
    assert "person from our team" in customer.reply()["content"]
    for desk in (ana_desk, ben_desk):  # the worker's handover, pushed to both web processes
        frame_with(desk, f'id="queue-{cid}" class')

    with httpx.Client(base_url=web_b.url, cookies={"sessionid": ana_key}, timeout=30) as ana:
        ana.get("/desk/").raise_for_status()  # the CSRF cookie
        claimed = ana.post(f"/desk/conversations/{cid}/claim/", headers={"X-CSRFToken": ana.cookies["csrftoken"]})
    assert claimed.status_code == 302 and claimed.headers["location"] == f"/desk/conversations/{cid}/"

    # Served by web B, seen on web A: Ben's queue loses the row and the customer's widget says who has it.
    frame_with(ben_desk, f'id="queue-{cid}" hx-swap-oob="delete"')
    assert customer.status("human_active")["assignee_name"] == "Ana"

    workspace = desk_socket(web_b, ana_key, f"/ws/desk/conversations/{cid}/")
    customer.say("Are you there?")
    assert "Are you there?" in frame_with(workspace, "Are you there?")
    for socket in (workspace, ana_desk, ben_desk):
        socket.close()
    customer.close()


def test_a_node_killed_mid_turn_leaves_the_other_to_finish_it_once(nodes_up, live_support_inbox, beat):
    first, second = (nodes_up.nodes[hostname] for hostname in NODES)
    # Only the first node takes turns for now, so that it is the one inside the turn.
    _turns_consumer(celery_app.control.cancel_consumer, NODES[1])
    customer = Customer(nodes_up.webs["web-a"].url, live_support_inbox)
    with OpenAIServer() as server:
        served_by(server, ModelProfile.objects.get(name="balanced"), "echo")
        server.hold("echo")
        customer.say("How long does shipping take?")
        assert server.arrived["echo"].wait(60), "the turn never reached the answer's model call"

        _turns_consumer(celery_app.control.add_consumer, NODES[1])
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole node: its main process and its pool
        first.process.wait(30)
        server.release("echo")
        # The dead node never acknowledged the turn; beat's sweep hands the stalled run on.
        beat({"Resume stalled AI turns": ("agents.resume_stalled_turns", 1)})

        reply = customer.reply(timeout=90)
        customer.status("finished")
    assert reply["content"] == "You said: How long does shipping take?"
    assert server.requests["echo"] == 2  # the call the dead node was in, and the second node's
    conversation = Conversation.objects.get(pk=customer.conversation_id)
    assert list(conversation.messages.values_list("sender", flat=True)) == [
        Message.Sender.CUSTOMER,
        Message.Sender.AI,
    ]
    run = PipelineRun.objects.get(conversation=conversation)
    assert run.status == PipelineRun.Status.FINISHED
    nodes = list(run.steps.values_list("node", flat=True))
    assert len(nodes) == len(set(nodes)), nodes  # every node finished once
    assert second.process.poll() is None
    customer.close()


def _turns_consumer(control, hostname: str) -> None:
    with celery_app.connection_for_write() as broker:
        assert control("turns", destination=[hostname], reply=True, timeout=10, connection=broker)


SWEEP_SENT = re.compile(r"Sending due task .* \(reviews\.sla_sweep\)")
SWEEP_RAN = re.compile(r"Task reviews\.sla_sweep\[([0-9a-f-]+)\] succeeded")


def test_beat_sweeps_run_once_per_tick_not_once_per_node(nodes_up, live_support_inbox, beat):
    live_support_inbox.sla_claim_seconds = 1
    live_support_inbox.save(update_fields=["sla_claim_seconds"])
    waiting = hand_over(live_support_inbox)
    consuming = active_queues(list(NODES))
    assert all("sweeps" in consuming[node] for node in NODES)  # either node could run each sweep
    for node in nodes_up.nodes.values():
        node.log_path.write_bytes(b"")  # only this test's sweeps are counted
    sweeps = beat({"Desk service levels: escalate unclaimed handovers": ("reviews.sla_sweep", 1)})

    def sent() -> int:
        return len(SWEEP_SENT.findall(sweeps.log_path.read_text(errors="replace")))

    wait_until(lambda: sent() >= 4, "beat to send the sweep four times", timeout=60)
    sweeps.stop()
    wait_until(lambda: len(_sweeps_run(nodes_up)) >= sent(), "the nodes to run every sweep", timeout=60)
    ran = _sweeps_run(nodes_up)
    assert len(ran) == sent() and len(set(ran)) == len(ran), (sent(), ran)  # each tick on one node only

    escalations = AuditEvent.objects.filter(action="conversation.escalated", target_id=str(waiting.pk))
    assert escalations.count() == 1
    assert Conversation.objects.get(pk=waiting.pk).priority == waiting.priority + 1


def _sweeps_run(cluster: Cluster) -> list[str]:
    """The ids of the sweeps that ran, on any node."""
    return [
        task_id
        for node in cluster.nodes.values()
        for task_id in SWEEP_RAN.findall(node.log_path.read_text(errors="replace"))
    ]
