from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from conversations.models import Inbox
from hilconsole.dashboard import charts
from hilconsole.dashboard.figures import PERIODS, dashboard_figures, money

DASHBOARD_PERMISSION = "hilconsole.view_dailymetric"


class DashboardForm(forms.Form):
    period = forms.ChoiceField(choices=[(code, label) for code, (label, _) in PERIODS.items()], required=False)
    inbox = forms.ModelChoiceField(Inbox.objects.all(), required=False, empty_label="every inbox")


def percent(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def duration(seconds) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


@require_GET
def dashboard(request):
    """The admin's home for admins: the figures of a period (24 h, 7 d, 30 d) and inbox, as
    numbers and charts. Bad choices are a form error (400), never a 500."""
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied("The dashboard is for admins.")
    form = DashboardForm(request.GET)
    valid = form.is_valid()
    period = (form.cleaned_data.get("period") if valid else None) or "24h"
    inbox = form.cleaned_data.get("inbox") if valid else None
    figures = dashboard_figures(period, inbox)
    context = admin.site.each_context(request) | {
        "title": "Operations",
        "form": form,
        "figures": figures,
        "inbox": inbox,
        "period_label": PERIODS[period][0],
        "shown": _shown(figures),
        "charts": _charts(figures),
        "app_list": admin.site.get_app_list(request),
    }
    return TemplateResponse(request, "admin/dashboard.html", context, status=200 if valid else 400)


def _shown(f: dict) -> dict:
    return {
        "cost": money(f["cost"]), "cost_per_resolved": money(f["cost_per_resolved"]),
        "auto_resolution": percent(f["auto_resolution"]), "turn_p50": duration(f["turn_p50"]),
        "turn_p95": duration(f["turn_p95"]), "claim_p50": duration(f["claim_p50"]),
        "claim_p95": duration(f["claim_p95"]), "first_response_p50": duration(f["first_response_p50"]),
        "first_response_p95": duration(f["first_response_p95"]), "decision_p50": duration(f["decision_p50"]),
        "csat": "—" if f["csat"] is None else f"{f['csat']:.2f} / 5",
        "tool_errors": [(tool, calls, percent(error_rate)) for tool, calls, error_rate in f["tool_errors"]],
        "deployments": [(name, calls, percent(errors), percent(fallbacks), refused)
                        for name, calls, errors, fallbacks, refused in f["deployments"]],
        "budgets": [row | {"meter": charts.meter(row["ratio"], alert=row["budget"].alert_ratio),
                           "spent_shown": money(row["spent"]), "ratio_shown": percent(row["ratio"])}
                    for row in f["budgets"]],
    }  # fmt: skip


def _charts(f: dict) -> dict:
    count = str
    return {
        "turn_outcomes": charts.bars(list(f["turn_outcomes"].items()), unit=count, title="AI turns by outcome"),
        "handovers": charts.bars(list(f["handovers"].items()), unit=count, title="Handovers by reason"),
        "open_reviews": charts.bars(list(f["open_reviews"].items()), unit=count, title="Open review tasks"),
        "cost_by_day": charts.columns(f["cost_by_day"], unit=money, title="LLM cost by day"),
        "cost_by_model": charts.bars(f["cost_by_model"], unit=money, title="LLM cost by model"),
        "cost_by_agent": charts.bars(f["cost_by_agent"], unit=money, title="LLM cost by AI agent"),
        "cost_by_inbox": charts.bars(f["cost_by_inbox"], unit=money, title="LLM cost by inbox"),
        "tool_errors": charts.bars([(tool, rate or 0) for tool, _, rate in f["tool_errors"]], unit=percent,
                                   title="Tool error rate"),
        "llm_errors": charts.bars([(name, errors or 0) for name, _, errors, _, _ in f["deployments"]],
                                  unit=percent, title="LLM error rate by deployment"),
    }  # fmt: skip
