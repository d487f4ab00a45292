import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from agents.kinds import kind_named
from agents.llm import budgets
from agents.models import (
    AIAgent,
    ModelProfile,
    Pipeline,
    PipelineRun,
    PipelineVersion,
    Prompt,
    PromptVersion,
    RunStep,
    ToolApprovalRule,
)
from agents.pipelines import services
from agents.pipelines.graph import graph_problems
from agents.pipelines.trace import run_trace
from agents.tools.approvals import condition_problem
from conversations.admin_audit import AuditedAdmin, ReadOnlyAdmin, audit_admin_change, snapshot

GRAPH_WIDGET = forms.Textarea(attrs={"rows": 30, "cols": 100, "class": "vLargeTextField", "spellcheck": "false"})


def pretty_json(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, default=str))


# Pipelines and prompts: editing the content saves a new version ---------------------------


class VersionedForm(forms.ModelForm):
    """The owner's fields, plus its latest version's content (`content_field`) to edit."""

    content_field = ""
    note = forms.CharField(required=False, max_length=300, help_text="What changed, for the version list.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        latest = self.instance.latest_version() if self.instance.pk else None
        if latest:
            self.initial[self.content_field] = getattr(latest, self.content_field)


class VersionedAdmin(AuditedAdmin):
    """Saving the owner saves its edited content as the next version, when it changed."""

    list_display = ["name", "latest"]

    @admin.display(description="latest version")
    def latest(self, owner):
        latest = owner.latest_version()
        return f"v{latest.number}" if latest else "—"

    def save_model(self, request, owner, form, change):
        super().save_model(request, owner, form, change)
        latest = owner.latest_version()
        content = form.cleaned_data[form.content_field]
        if latest is None or getattr(latest, form.content_field) != content:
            version = self.version_create(
                owner, content, note=form.cleaned_data["note"], author=request.user.get_username()
            )
            audit_admin_change(request.user, "created", version, {}, snapshot(version))
            messages.info(request, f"Saved as {version}. {self.pin_hint}")


class PipelineForm(VersionedForm):
    content_field = "graph"
    graph = forms.JSONField(widget=GRAPH_WIDGET, help_text="Saving a changed graph creates the next version.")

    class Meta:
        model = Pipeline
        fields = ["name", "kind", "description"]

    def clean(self):
        cleaned = super().clean()
        kind = self.instance.kind if self.instance.pk else cleaned.get("kind")
        graph = cleaned.get("graph")
        problems = graph_problems(graph, kind) if kind and graph is not None else []
        if problems:
            self.add_error("graph", problems)
        return cleaned


class PipelineVersionInline(admin.TabularInline):
    model = PipelineVersion
    fields = ["version_link", "note", "created_by", "created_at", "pinned_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="version")
    def version_link(self, version):
        url = reverse("admin:agents_pipelineversion_change", args=[version.pk])
        return format_html('<a href="{}">v{}</a>', url, version.number)

    @admin.display(description="pinned by")
    def pinned_by(self, version):
        return ", ".join(agent.name for agent in version.agents.all()) or "—"


@admin.register(Pipeline)
class PipelineAdmin(VersionedAdmin):
    form = PipelineForm
    list_display = ["name", "kind", "description", "latest", "agents"]
    list_filter = ["kind"]

    def get_readonly_fields(self, request, obj=None):
        # Its versions were checked for its kind: a pipeline keeps the kind it was made with.
        return ["kind"] if obj else []

    inlines = [PipelineVersionInline]
    pin_hint = "AI agents keep their pinned version until you pin this one."

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions__agents")

    @admin.display(description="latest version")
    def latest(self, pipeline):
        latest = max((version.number for version in pipeline.versions.all()), default=None)
        return f"v{latest}" if latest else "—"

    @admin.display(description="AI agents")
    def agents(self, pipeline):
        pinned = [f"{agent.name} (v{v.number})" for v in pipeline.versions.all() for agent in v.agents.all()]
        return ", ".join(pinned) or "—"

    def version_create(self, pipeline, graph, **meta):
        return services.pipeline_version_create(pipeline, graph=graph, **meta)


@admin.register(PipelineVersion)
class PipelineVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "note", "created_by", "created_at"]
    list_filter = ["pipeline"]
    fields = ["pipeline", "number", "note", "created_by", "created_at", "graph_shown", "pinned_by", "pin"]
    readonly_fields = fields

    @admin.display(description="graph")
    def graph_shown(self, version):
        return pretty_json(version.graph)

    @admin.display(description="pinned by")
    def pinned_by(self, version):
        return ", ".join(agent.name for agent in version.agents.all()) or "no AI agent"

    @admin.display(description="rollback / roll-out")
    def pin(self, version):
        url = reverse("admin:agents_pipelineversion_pin", args=[version.pk])
        return format_html(
            # Submits the page's own form (it carries the CSRF token) to the pin view.
            '<button type="submit" formaction="{}" formmethod="post" class="button">'
            "Pin v{} on every AI agent of {}</button>",
            url,
            version.number,
            version.pipeline,
        )

    def get_urls(self):
        pin = self.admin_site.admin_view(require_POST(self.pin_view))
        return [path("<int:version_id>/pin/", pin, name="agents_pipelineversion_pin"), *super().get_urls()]

    def pin_view(self, request, version_id: int):
        if not request.user.has_perm("agents.change_aiagent"):
            raise PermissionDenied("Pinning a version changes AI agents, which you may not change.")
        version = get_object_or_404(PipelineVersion.objects.select_related("pipeline"), pk=version_id)
        pinned = services.pipeline_version_pin(version, actor=request.user)
        names = ", ".join(agent.name for agent in pinned)
        if pinned:
            messages.success(request, f"{names} now run {version}.")
        else:
            messages.warning(request, f"No AI agent runs {version.pipeline}; pick it on an AI agent first.")
        return redirect("admin:agents_pipelineversion_change", version.pk)


# Prompts ------------------------------------------------------------------------------------


class PromptForm(VersionedForm):
    content_field = "text"
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 100}), help_text="Saving a change creates the next version."
    )

    class Meta:
        model = Prompt
        fields = ["name"]


@admin.register(Prompt)
class PromptAdmin(VersionedAdmin):
    form = PromptForm
    pin_hint = "Pin it on an AI agent to use it."

    def version_create(self, prompt, text, **meta):
        return services.prompt_version_create(prompt, text=text, **meta)


@admin.register(PromptVersion)
class PromptVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "note", "created_by", "created_at"]
    list_filter = ["prompt"]


# AI agents ----------------------------------------------------------------------------------


class AIAgentForm(forms.ModelForm):
    class Meta:
        model = AIAgent
        fields = [
            "name",
            "pipeline_version",
            "system_prompt",
            "default_profile",
            "node_profiles",
            "confidence_threshold",
            "allowed_tools",
            "skills_by_intent",
            "handover_message",
            "apology_message",
            "max_consecutive_errors",
            "turn_limit",
            "holding_message",
            "draft_review",
            "draft_review_threshold",
            "breaker_usd_per_hour",
        ]

    def clean_draft_review_threshold(self):
        threshold = self.cleaned_data["draft_review_threshold"]
        if not 0 <= threshold <= 1:
            raise ValidationError("A confidence threshold is between 0 and 1.")
        return threshold

    def clean_confidence_threshold(self):
        threshold = self.cleaned_data["confidence_threshold"]
        if not 0 <= threshold <= 1:
            raise ValidationError("A confidence threshold is between 0 and 1.")
        return threshold

    def clean_skills_by_intent(self):
        skills = self.cleaned_data["skills_by_intent"] or {}
        if not isinstance(skills, dict) or not all(
            isinstance(names, list) and all(isinstance(name, str) and name for name in names)
            for names in skills.values()
        ):
            raise ValidationError('Give a JSON object of intent → list of skills, e.g. {"refund": ["billing"]}.')
        return skills

    def clean(self):
        cleaned = super().clean()
        profiles = cleaned.get("node_profiles") or {}
        version = cleaned.get("pipeline_version")
        if not isinstance(profiles, dict):
            self.add_error("node_profiles", 'Give a JSON object of node id → profile, e.g. {"answer": "powerful"}.')
            return cleaned
        self._check_kind(version)
        known = set(ModelProfile.objects.values_list("name", flat=True))
        nodes = {node["id"] for node in version.graph["nodes"]} if version else set()
        for node_id, profile in profiles.items():
            if version and node_id not in nodes:
                self.add_error("node_profiles", f"{version} has no node '{node_id}'.")
            if profile not in known:
                self.add_error("node_profiles", f"Node '{node_id}': there is no model profile '{profile}'.")
        return cleaned

    def _check_kind(self, version) -> None:
        """An agent answering inboxes runs a chat turn's pipeline; one running a workflow, that
        workflow's kind of pipeline."""
        if version is None or not self.instance.pk:
            return
        kind = version.pipeline.kind
        if kind != "turn" and self.instance.inboxes.exists():
            self.add_error("pipeline_version", "This AI agent answers inboxes: pin a chat turn pipeline.")
        for workflow in self.instance.workflows.exclude(kind=kind):
            self.add_error("pipeline_version", f"This AI agent runs the {workflow} workflow: pin "
                                               f"{kind_named(workflow.kind)} pipeline.")  # fmt: skip


class ApprovalRuleForm(forms.ModelForm):
    class Meta:
        model = ToolApprovalRule
        fields = ["tool", "condition", "note"]

    def clean_condition(self):
        condition = self.cleaned_data["condition"]
        problem = condition_problem(condition)
        if problem:
            raise forms.ValidationError(problem)
        return condition


class ApprovalRuleInline(admin.TabularInline):
    """A safe tool whose call waits for a reviewer when the rule holds (gated tools always wait)."""

    model = ToolApprovalRule
    form = ApprovalRuleForm
    extra = 0
    verbose_name = "approval rule"


@admin.register(AIAgent)
class AIAgentAdmin(AuditedAdmin):
    form = AIAgentForm
    inlines = [ApprovalRuleInline]
    list_display = [
        "name",
        "pipeline_version",
        "system_prompt",
        "default_profile",
        "confidence_threshold",
        "inboxes_shown",
        "running",
    ]
    filter_horizontal = ["allowed_tools"]
    readonly_fields = ["pause_state"]
    actions = ["pause_agents"]

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        return ["pause_state", *(field for field in fields if field != "pause_state")] if obj else fields

    @admin.display(description="inboxes")
    def inboxes_shown(self, agent):
        return ", ".join(inbox.name for inbox in agent.inboxes.all()) or "—"

    @admin.display(description="answering", boolean=True)
    def running(self, agent):
        return agent.paused_at is None

    @admin.display(description="state")
    def pause_state(self, agent):
        if agent.paused_at is None:
            return "Answering customers."
        url = reverse("admin:agents_aiagent_resume", args=[agent.pk])
        return format_html(
            # Submits the page's own form (it carries the CSRF token) to the resume view.
            'Paused since {}: {} <button type="submit" formaction="{}" formmethod="post" class="button">'
            "Resume</button>",
            agent.paused_at.strftime("%Y-%m-%d %H:%M"), agent.paused_reason, url,
        )  # fmt: skip

    @admin.action(description="Pause the selected AI agents (their inboxes hand every turn to people)")
    def pause_agents(self, request, queryset):
        paused = [agent.name for agent in queryset if budgets.agent_pause(agent.pk, actor=request.user,
                                                                             reason="Paused by an admin.")]  # fmt: skip
        messages.success(request, f"Paused: {', '.join(paused) or 'none (already paused)'}.")

    def get_urls(self):
        resume = self.admin_site.admin_view(require_POST(self.resume_view))
        return [path("<int:agent_id>/resume/", resume, name="agents_aiagent_resume"), *super().get_urls()]

    def resume_view(self, request, agent_id: int):
        if not request.user.has_perm("agents.change_aiagent"):
            raise PermissionDenied("Resuming changes an AI agent, which you may not change.")
        agent = get_object_or_404(AIAgent, pk=agent_id)
        if budgets.agent_resume(agent.pk, actor=request.user):
            messages.success(request, f"{agent} answers customers again.")
        else:
            messages.info(request, f"{agent} was not paused.")
        return redirect("admin:agents_aiagent_change", agent.pk)


# Runs ---------------------------------------------------------------------------------------


class RunStepInline(admin.TabularInline):
    model = RunStep
    fields = ["index", "node", "node_type", "status", "model", "prompt_tokens", "completion_tokens", "cost_usd",
              "latency_ms", "tools", "error"]  # fmt: skip
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PipelineRun)
class PipelineRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "conversation", "status", "reason", "version", "started_at", "step_count", "cost"]
    list_filter = ["kind", "status", "reason", "version"]
    search_fields = ["trace_id", "conversation__id"]
    date_hierarchy = "started_at"
    fields = ["kind", "conversation", "analysis", "application", "agent", "version", "status", "reason", "trace_id",
              "started_at", "finished_at", "api_link", "trace"]  # fmt: skip
    readonly_fields = fields
    inlines = [RunStepInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("conversation", "version__pipeline")
            .annotate(step_count=Count("steps"), cost=Sum("steps__cost_usd"))
        )

    @admin.display(description="steps", ordering="step_count")
    def step_count(self, run):
        return run.step_count

    @admin.display(description="cost (USD)", ordering="cost")
    def cost(self, run):
        return run.cost or 0

    @admin.display(description="trace API")
    def api_link(self, run):
        url = reverse("run-trace", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.display(description="trace")
    def trace(self, run):
        trace = run_trace(run)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (s["index"], s["node"], s["type"], s["status"], s["intent"] or s["tool"] or "", s["tokens"],
                 f"{s['latency_ms']:.1f} ms", s["error"] or s["outcome"])
                for s in trace["steps"]
            ),
        )  # fmt: skip
        header = "<tr><th>#</th><th>node</th><th>type</th><th>status</th><th>intent / tool</th><th>tokens</th>" \
                 "<th>latency</th><th>outcome</th></tr>"  # fmt: skip
        return format_html("<table>{}{}</table>{}", mark_safe(header), rows, pretty_json(trace))  # noqa: S308
