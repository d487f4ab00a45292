"""Rollups, the admin's dashboard and /metrics."""

import re
import time
import urllib.error
import urllib.request
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db.models import Sum
from django.utils import timezone

from agents.models import LLMCall, PipelineRun, Tool, ToolCall
from agents.pipelines import turns
from conversations import services
from conversations.models import Conversation
from hilconsole.models import DailyMetric
from hilconsole.rollups import SEP, rollups_refresh

pytestmark = pytest.mark.django_db


def turn(inbox, text):
    conversation, _, _ = services.conversation_open(inbox, name="Cleo")
    services.message_post_from_customer(conversation.pk, content=text, client_message_id="c-1", request_ai_turn=False)
    turns.turn_run(conversation.pk)
    return conversation


def call(days_ago=0, cost="0.01", outcome="ok", model="openai/gpt-4o-mini", conversation=None, fallbacks=()):
    created = LLMCall.objects.create(purpose="answer", outcome=outcome, deployment_model=model, cost_usd=Decimal(cost),
                                     conversation=conversation, fallbacks=list(fallbacks))  # fmt: skip
    if days_ago:
        LLMCall.objects.filter(pk=created.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return created


def rolled_up_cost(day) -> Decimal:
    rows = DailyMetric.objects.filter(day=day, metric="llm_calls")
    return Decimal(str(round(sum(row.total for row in rows), 8)))


def raw_cost(day) -> Decimal:
    start = timezone.datetime.combine(day, timezone.datetime.min.time(), tzinfo=UTC)
    total = LLMCall.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1)).aggregate(
        total=Sum("cost_usd")
    )
    return total["total"] or Decimal(0)


# Rollups ------------------------------------------------------------------------------------


def test_rollups_equal_the_sum_of_the_calls_and_follow_late_calls(support_conversation):
    today = timezone.now().astimezone(UTC).date()
    for days_ago, cost in [(0, "0.01"), (0, "0.02"), (1, "0.04"), (3, "0.08")]:
        call(days_ago, cost, conversation=support_conversation)
    call(0, "0", outcome="error", model="")
    rollups_refresh(days=[today - timedelta(days=n) for n in range(5)])

    assert [rolled_up_cost(today - timedelta(days=n)) for n in range(4)] == [
        raw_cost(today - timedelta(days=n)) for n in range(4)
    ]
    assert rolled_up_cost(today) == Decimal("0.03")
    # A call recorded late for a day already rolled up: the next refresh recomputes that day.
    call(3, "0.16", conversation=support_conversation)
    refreshed = rollups_refresh()

    assert today - timedelta(days=3) in refreshed.days
    assert rolled_up_cost(today - timedelta(days=3)) == Decimal("0.24") == raw_cost(today - timedelta(days=3))
    keys = dict(DailyMetric.objects.filter(day=today, metric="llm_calls").values_list("key", "count"))
    assert keys == {f"openai/gpt-4o-mini{SEP}ok": 2, f"—{SEP}error": 1}


def test_rollups_count_turns_handovers_and_tool_errors_per_inbox(support_inbox):
    turn(support_inbox, "How long does shipping take?")
    turn(support_inbox, "I want to talk to a human")
    tool = Tool.objects.get(name="get_order_status")
    ToolCall.objects.create(tool=tool, idempotency_key="k1", arguments={}, error="TimeoutError")
    ToolCall.objects.create(tool=tool, idempotency_key="k2", arguments={}, result={"status": "shipped"})

    rollups_refresh()
    today = timezone.now().astimezone(UTC).date()
    rows = {(row.metric, row.key): row for row in DailyMetric.objects.filter(day=today)}

    assert rows[("ai_turns", "finished")].count == 1 and rows[("ai_turns", "handed_over")].count == 1
    assert rows[("ai_turns", "finished")].inbox == support_inbox
    assert rows[("handovers", "human_request")].count == 1
    assert sum(rows[("ai_turn_seconds", "")].buckets) == 2 == rows[("ai_turn_seconds", "")].count
    assert rows[("closed", "ai")].count == 1
    assert (rows[("tool_calls", f"get_order_status{SEP}error")].count,
            rows[("tool_calls", f"get_order_status{SEP}ok")].count) == (1, 1)  # fmt: skip


def test_the_rollup_refresh_is_installed_for_beat():
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.get(task="hilconsole.rollups_refresh").interval.every == 300
    assert PeriodicTask.objects.get(task="hilconsole.retention_sweep").crontab.hour == "3"


# The dashboard ------------------------------------------------------------------------------


def test_the_dashboard_shows_an_admin_the_figures_and_charts(client, site_admin, support_inbox):
    turn(support_inbox, "How long does shipping take?")
    turn(support_inbox, "I want to talk to a human")
    call(0, "1.50", conversation=Conversation.objects.first())
    rollups_refresh()
    client.force_login(site_admin)

    page = client.get("/admin/?period=7d").content.decode()

    assert re.search(r'id="kpi-ai-turns">2<', page)
    assert re.search(r'id="kpi-auto-resolution">100%<', page)  # one closed, by the AI
    assert 'id="kpi-cost">$1.50<' in page
    assert 'aria-label="Handovers by reason"' in page and "human_request" in page
    assert page.count('<svg class="chart"') >= 6
    assert "Everything in the admin" in page  # the app list is still there


def test_the_dashboard_is_refused_to_a_support_agent(client, support_agent):
    client.force_login(support_agent)

    assert client.get("/admin/").status_code == 403


def test_the_dashboard_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/admin/")

    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_bad_period_or_inbox_is_a_form_error(client, site_admin):
    client.force_login(site_admin)

    response = client.get("/admin/?period=1y&inbox=999999")

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert client.post("/admin/").status_code == 405


def test_the_dashboard_of_one_inbox_leaves_others_out(client, site_admin, support_inbox):
    other, _ = services.inbox_ensure(name="Other", allowed_origins=[], greeting="")
    turn(support_inbox, "How long does shipping take?")
    rollups_refresh()
    client.force_login(site_admin)

    page = client.get(f"/admin/?period=24h&inbox={other.pk}").content.decode()

    assert re.search(r'id="kpi-ai-turns">0<', page)


# /metrics -----------------------------------------------------------------------------------

FAMILIES = {
    "hil_ai_turns_total": "counter",
    "hil_handovers_total": "counter",
    "hil_ai_turn_seconds": "histogram",
    "hil_llm_calls_total": "counter",
    "hil_llm_cost_usd_total": "counter",
    "hil_tool_calls_total": "counter",
    "hil_queue_waiting": "gauge",
    "hil_review_tasks_open": "gauge",
    "hil_budget_used_ratio": "gauge",
}


def test_metrics_refuse_anonymous_callers_and_wrong_tokens(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 200
    assert client.post("/metrics", headers={"Authorization": "Bearer scrape-secret"}).status_code == 405


def test_metrics_show_every_family_after_a_few_turns(client, settings, support_inbox):
    from agents.models import Budget

    settings.METRICS_TOKEN = "scrape-secret"
    Budget.objects.create(name="support daily", scope="inbox", inbox=support_inbox, daily_usd=Decimal("5"))
    turn(support_inbox, "How long does shipping take?")
    turn(support_inbox, "I want to talk to a human")
    ToolCall.objects.create(tool=Tool.objects.get(name="get_order_status"), idempotency_key="k", arguments={},
                            error="TimeoutError")  # fmt: skip

    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).content.decode()

    for family, kind in FAMILIES.items():
        assert f"# TYPE {family} {kind}\n" in text, family
    assert 'hil_ai_turns_total{inbox="Support",outcome="finished"} 1.0' in text
    assert 'hil_handovers_total{inbox="Support",reason="human_request"} 1.0' in text
    assert 'hil_queue_waiting{inbox="Support"} 1.0' in text
    assert 'hil_ai_turn_seconds_count{inbox="Support"} 2.0' in text
    assert 'hil_tool_calls_total{outcome="error",tool="get_order_status"} 1.0' in text
    assert re.search(r'hil_llm_calls_total\{deployment="local/hil-small",outcome="ok"\} [1-9]', text)
    assert 'hil_budget_used_ratio{budget="support daily",period="day",scope="inbox:Support"} 0.0' in text


@pytest.mark.django_db(transaction=True)
def test_metrics_agree_across_processes_and_keep_counting_after_a_rollup(
    live_worker, live_server_url, live_support_inbox, site_admin, client
):
    """Turns answered in the worker process, scraped from the web process: both read PostgreSQL."""
    for text in ["How long does shipping take?", "I want to talk to a human"]:
        conversation, _, _ = services.conversation_open(live_support_inbox, name="Cleo")
        services.message_post_from_customer(conversation.pk, content=text, client_message_id="c-1")
    deadline = time.monotonic() + 60
    while PipelineRun.objects.exclude(finished_at=None).count() < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    client.force_login(site_admin)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value

    def scrape() -> str:
        cookie = f"{django_settings.SESSION_COOKIE_NAME}={session}"
        request = urllib.request.Request(f"{live_server_url}/metrics", headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    before = scrape()
    rollups_refresh()  # today moves into the rollups: the counters must not jump or drop
    after = scrape()

    for text in (before, after):
        assert 'hil_ai_turns_total{inbox="Support",outcome="finished"} 1.0' in text
        assert 'hil_ai_turns_total{inbox="Support",outcome="handed_over"} 1.0' in text
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{live_server_url}/metrics", timeout=10)
    assert refused.value.code == 401
