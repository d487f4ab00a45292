"""The workflows' models: what an admin configures (`Workflow`) and what the API submits
(`DocumentAnalysis`, `Application`). Each submission is advanced by a `PipelineRun` of its kind."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from agents.kinds import WORKFLOW_KINDS, kind_named


class Workflow(models.Model):
    """A back-office workflow the API starts by name (an application's `kind`, such as
    `refund_claim`): the AI agent that runs it (a pinned pipeline of the same kind, its model
    profiles and budgets), the inbox whose reviewers decide, and how long a decision may take."""

    class OnExpiry(models.TextChoices):
        REJECT = "reject", "reject (the decision is recorded as no decision in time)"
        ESCALATE = "escalate", "escalate again (supervisors are told again; the deadline moves on)"

    name = models.SlugField(max_length=80, unique=True, help_text="What the API names, e.g. refund_claim.")
    kind = models.CharField(max_length=20, choices=WORKFLOW_KINDS)
    title = models.CharField(max_length=120)
    ai_agent = models.ForeignKey(
        "agents.AIAgent", on_delete=models.PROTECT, related_name="workflows", verbose_name="AI agent",
        help_text="Runs its pinned pipeline, which must be of this workflow's kind.",
    )  # fmt: skip
    inbox = models.ForeignKey(
        "conversations.Inbox", on_delete=models.PROTECT, related_name="workflows",
        help_text="Who works this inbox sees the submissions; its reviewers decide them.",
    )  # fmt: skip
    decision_deadline_seconds = models.PositiveIntegerField(
        "decide within (seconds)", default=48 * 3600, help_text="A review nobody decided by then meets the policy."
    )
    escalate_after_seconds = models.PositiveIntegerField(
        "escalate after (seconds)", default=24 * 3600, help_text="Supervisors are told of an undecided review then."
    )
    on_expiry = models.CharField(max_length=10, choices=OnExpiry.choices, default=OnExpiry.REJECT)
    enabled = models.BooleanField(default=True, help_text="Off: the API refuses new submissions.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        agent = self.ai_agent if self.ai_agent_id else None
        if agent and agent.pipeline_version.pipeline.kind != self.kind:
            raise ValidationError(
                {"ai_agent": f"{agent} runs {kind_named(agent.pipeline_version.pipeline.kind)} pipeline; "
                             f"choose one whose pipeline is {kind_named(self.kind)} pipeline."}
            )  # fmt: skip
        if self.escalate_after_seconds >= self.decision_deadline_seconds:
            raise ValidationError({"escalate_after_seconds": "Escalate before the deadline (half of it is usual)."})


class Submission(models.Model):
    """What a document analysis and an application share: who asked, where it is seen, its run."""

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="+")
    inbox = models.ForeignKey("conversations.Inbox", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True, help_text="Why it failed, when it did.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def latest_run(self):
        return self.runs.order_by("-started_at").first()


class DocumentAnalysis(Submission):
    """A long document analysed in parts on the workers (one item per chunk of pages), merged into
    a report, and optionally signed off by a reviewer before it is final."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        ANALYSING = "analysing"
        AWAITING_SIGNOFF = "awaiting_signoff", "awaiting sign-off"
        FINAL = "final"
        REJECTED = "rejected", "rejected at sign-off"
        FAILED = "failed"

    OPEN = (Status.QUEUED, Status.ANALYSING, Status.AWAITING_SIGNOFF)

    title = models.CharField(max_length=300)
    file_name = models.CharField(max_length=300, blank=True)
    content_type = models.CharField(max_length=20, help_text="txt, md, html or pdf")
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    text = models.TextField(help_text="The document's text; pages are separated by form feeds.")
    pages = models.PositiveIntegerField()
    requires_signoff = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    report = models.JSONField(null=True, blank=True)
    signed_off_by = models.CharField(max_length=150, blank=True)
    signoff_comment = models.TextField(blank=True)

    class Meta(Submission.Meta):
        verbose_name = "document analysis"
        verbose_name_plural = "document analyses"
        indexes = [models.Index(fields=["inbox", "created_at"])]

    def __str__(self):
        return f"Analysis #{self.pk}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Application(Submission):
    """An application (a refund claim, a loan, an onboarding): the AI extracts and checks its
    fields and assesses the risk; low risk is decided automatically, the rest by a reviewer."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSING = "processing"
        IN_REVIEW = "in_review", "waiting for a reviewer"
        APPROVED = "approved"
        REJECTED = "rejected"
        FAILED = "failed"

    OPEN = (Status.RECEIVED, Status.PROCESSING, Status.IN_REVIEW)

    applicant = models.JSONField(help_text="Who applies (name, email, the customer's id in your system, …).")
    documents = models.JSONField(default=list, blank=True, help_text="[{name, text}] sent with it.")
    given_fields = models.JSONField(default=dict, blank=True, help_text="Fields the caller sent.")
    callback_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    fields = models.JSONField(default=dict, blank=True, help_text="The fields as the AI extracted and checked them.")
    validation = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    risk_level = models.CharField(max_length=10, blank=True)
    risk_score = models.PositiveSmallIntegerField(null=True, blank=True)
    risk_factors = models.JSONField(default=list, blank=True)
    recommendation = models.JSONField(default=dict, blank=True, help_text="The AI's: decision and reasons.")
    decision = models.CharField(max_length=10, blank=True, help_text="approve or reject")
    decision_reasons = models.JSONField(default=list, blank=True)
    decided_by = models.CharField(max_length=150, blank=True, help_text="The AI, a reviewer's name, or the deadline.")
    decided_at = models.DateTimeField(null=True, blank=True)
    callback_delivered_at = models.DateTimeField(null=True, blank=True)
    callback_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta(Submission.Meta):
        indexes = [models.Index(fields=["inbox", "created_at"])]

    def __str__(self):
        return f"Application #{self.pk} ({self.workflow_id and self.workflow.name})"

    @property
    def decision_shown(self) -> str:
        """The decision as a page says it ("Approved by Rita")."""
        return {"approve": "Approved", "reject": "Rejected"}.get(self.decision, "")

    @property
    def applicant_name(self) -> str:
        return str(self.applicant.get("name") or self.applicant.get("email") or "An applicant")

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN
