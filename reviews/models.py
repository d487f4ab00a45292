"""The human side of the desk: the people who answer customers, and what they reuse."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class HumanAgent(models.Model):
    """A support agent's desk profile: what they can handle and whether they are there."""

    class Status(models.TextChoices):
        ONLINE = "online"
        AWAY = "away"
        OFFLINE = "offline"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="human_agent")
    display_name = models.CharField(
        max_length=120, blank=True, help_text="Shown to customers; the first name when left empty."
    )
    skills = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Comma-separated, such as billing,returns. A handover that needs skills waits for an agent with all.",
    )
    max_concurrent = models.PositiveSmallIntegerField(
        "max concurrent conversations",
        default=5,
        help_text="Claims and auto-assignment stop at this many open conversations.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFLINE)
    # The agent picked away or offline themselves: a heartbeat must not switch them back online.
    status_chosen = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    offline_since = models.DateTimeField(null=True, blank=True)
    # Round-robin assignment hands the next handover to whoever waited longest for one.
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username"]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.user.first_name or self.user.get_username()

    def has_skills(self, required: list[str]) -> bool:
        return set(required or []) <= set(self.skills)


class CannedResponse(models.Model):
    """A reply agents insert by typing `/` and its shortcut; managed by admins."""

    shortcut = models.SlugField(max_length=40, unique=True, help_text="Agents type /shortcut to find it.")
    title = models.CharField(max_length=120)
    content = models.TextField(help_text="{name} becomes the customer's name.")
    inbox = models.ForeignKey(
        "conversations.Inbox",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text="Only for this inbox; every inbox when empty.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut"]

    def __str__(self):
        return f"/{self.shortcut} {self.title}"

    def text_for(self, customer_name: str) -> str:
        return self.content.replace("{name}", customer_name or "there")


class ReviewTask(models.Model):
    """A decision a person makes before the AI goes on: a tool call it proposed (`tool_call`), a
    reply it drafted (`reply`), a call an outside agent asks about through the approvals API
    (`external`), an application the AI assessed (`application`), or a document analysis report
    to sign off (`signoff`). The run that asked waits (durably) until the decision resumes it."""

    class Kind(models.TextChoices):
        TOOL_CALL = "tool_call", "action"
        REPLY = "reply", "draft reply"
        EXTERNAL = "external", "outside agent's action"
        APPLICATION = "application"
        SIGNOFF = "signoff", "report sign-off"

    # The AI's own work, decided by the inbox's reviewers and supervisors (no tool permission).
    WORK_KINDS = (Kind.REPLY, Kind.APPLICATION, Kind.SIGNOFF)
    # Approved or rejected as a whole, with the reviewer's reasons.
    WORKFLOW_KINDS = (Kind.APPLICATION, Kind.SIGNOFF)

    class Status(models.TextChoices):
        OPEN = "open"
        APPROVED = "approved"
        EDITED = "edited", "edited and approved"
        REJECTED = "rejected"
        RESPONDED = "responded", "answered instead"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    inbox = models.ForeignKey("conversations.Inbox", on_delete=models.CASCADE, related_name="review_tasks")
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="review_tasks"
    )
    run = models.ForeignKey(
        "agents.PipelineRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="review_tasks"
    )
    step_index = models.PositiveSmallIntegerField(null=True, blank=True, help_text="The run's step that paused.")
    tool = models.ForeignKey("agents.Tool", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    arguments = models.JSONField(default=dict, blank=True, help_text="What the AI proposed.")
    final_arguments = models.JSONField(null=True, blank=True, help_text="What the reviewer approved.")
    draft = models.TextField(blank=True, help_text="The reply the AI drafted (draft review).")
    brief = models.JSONField(
        default=dict, blank=True,
        help_text="What the reviewer of a workflow sees: the AI's summary, fields, risk and recommendation.",
    )  # fmt: skip
    customer_words = models.TextField(blank=True, help_text="What the customer asked, as the run read it.")
    rationale = models.TextField(blank=True, help_text="Why the AI wants this.")
    risk = models.CharField(max_length=10, default="medium")
    idempotency_key = models.CharField(max_length=200, blank=True, help_text="The key the call runs with.")
    deadline = models.DateTimeField()
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    on_expiry = models.CharField(
        max_length=10, blank=True, help_text="A workflow's policy at the deadline: reject, or escalate again."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150, blank=True, help_text="Kept if the user is deleted.")
    decision_comment = models.TextField(blank=True)
    response = models.TextField(blank=True, help_text="What the reviewer told the customer instead.")
    decided_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The API caller that asked (outside agents).",
    )  # fmt: skip
    callback_url = models.URLField(blank=True, max_length=500)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    callback_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["deadline", "pk"]
        indexes = [models.Index(fields=["status", "deadline"]), models.Index(fields=["inbox", "status"])]
        constraints = [
            # One decision per paused step: a pause replayed by a redelivered task opens no second one.
            models.UniqueConstraint(fields=["run", "step_index"], name="one_review_task_per_run_step")
        ]

    def __str__(self):
        return f"Review #{self.pk} ({self.get_kind_display()}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def in_words(self) -> str:
        """What is being decided, as a reviewer reads it ("Refund €20.00 on order 100234")."""
        if self.kind == self.Kind.REPLY:
            return "Send the AI's drafted reply"
        if self.kind in self.WORKFLOW_KINDS:
            return self.brief.get("title") or self.get_kind_display().capitalize()
        from agents.tools.registry import describe_call

        return describe_call(self.tool.name, self.final_arguments or self.arguments)


class RejectionReason(models.Model):
    """A reason reviewers pick when they reject, instead of typing it each time."""

    text = models.CharField(max_length=300)
    tool = models.ForeignKey(
        "agents.Tool", null=True, blank=True, on_delete=models.CASCADE, help_text="Only for this tool; any when empty."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "text"]

    def __str__(self):
        return self.text
