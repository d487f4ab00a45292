from decimal import Decimal

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from pgvector.django import HnswIndex, VectorField

from agents.kinds import RunKind
from agents.llm.endpoints import validate_api_base
from agents.llm.keys import validate_key_variable

EMBEDDING_DIMENSIONS = 256


class ModelProfile(models.Model):
    """A named choice of models (`fast`, `balanced`, `powerful`): deployments tried in order."""

    name = models.SlugField(max_length=40, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Deployment(models.Model):
    """One model behind a profile. The first healthy one answers; the next ones are fallbacks."""

    profile = models.ForeignKey(ModelProfile, on_delete=models.CASCADE, related_name="deployments")
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower is tried first.")
    model = models.CharField(
        max_length=200, help_text='A LiteLLM model string: "local/hil-small", "openai/gpt-4o-mini", …'
    )
    api_base = models.URLField(
        blank=True,
        validators=[validate_api_base],
        help_text="For OpenAI-compatible servers (vLLM, Ollama, …). Never a link-local or cloud metadata address.",
    )
    api_key_env = models.CharField(
        "API key environment variable",
        max_length=100,
        blank=True,
        validators=[validate_key_variable],
        help_text="Read the key from this variable; its name starts with LLM_KEY_.",
    )
    api_key_encrypted = models.TextField(blank=True, editable=False)
    input_price_per_1k = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True, help_text="USD; overrides LiteLLM's price list."
    )
    output_price_per_1k = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    timeout_seconds = models.FloatField(default=30)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["profile", "position", "id"]

    def __str__(self):
        return f"{self.profile}: {self.model}"


class LLMCall(models.Model):
    """Every model call the gateway made: what it cost, how long it took, how it ended."""

    class Outcome(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        REFUSED = "refused", "refused (over budget, or its AI agent is paused)"

    profile = models.ForeignKey(ModelProfile, null=True, blank=True, on_delete=models.SET_NULL)
    purpose = models.CharField(max_length=40, help_text="completion, embedding, …")
    deployment_model = models.CharField(max_length=200, blank=True, help_text="The deployment that answered.")
    fallbacks = models.JSONField(default=list, blank=True, help_text="Deployments that failed first.")
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    latency_ms = models.FloatField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    agent = models.ForeignKey(
        "agents.AIAgent", null=True, blank=True, on_delete=models.SET_NULL, related_name="llm_calls"
    )
    run_id = models.BigIntegerField(null=True, blank=True)
    step_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "LLM call"
        # The cost circuit breaker sums an agent's last hour after each of its calls.
        indexes = [models.Index(fields=["agent", "created_at"])]

    def __str__(self):
        return f"{self.purpose} via {self.deployment_model or '?'} ({self.outcome})"


class IntentExample(models.Model):
    """A labelled customer message: the local model classifies by its nearest examples."""

    intent = models.SlugField(max_length=60)
    text = models.CharField(max_length=500)

    class Meta:
        ordering = ["intent", "id"]
        constraints = [models.UniqueConstraint(fields=["intent", "text"], name="one_example_per_intent_text")]

    def __str__(self):
        return f"{self.intent}: {self.text[:60]}"


class KnowledgeDocument(models.Model):
    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        GERMAN = "de", "German"
        FRENCH = "fr", "French"
        SPANISH = "es", "Spanish"

    class Format(models.TextChoices):
        TEXT = "text"
        MARKDOWN = "markdown"
        HTML = "html"

    class Status(models.TextChoices):
        PENDING = "pending"
        INGESTING = "ingesting"
        READY = "ready"
        FAILED = "failed"

    title = models.CharField(max_length=200)
    source = models.CharField(max_length=500, blank=True, help_text="Where it comes from (a URL, a file name).")
    inbox = models.ForeignKey(
        "conversations.Inbox",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Only this inbox's AI uses it; empty for every inbox.",
    )
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.MARKDOWN)
    language = models.CharField(
        max_length=2,
        choices=Language.choices,
        default=Language.ENGLISH,
        help_text="Customers writing in this language are answered from it first; English is the fallback.",
    )
    body = models.TextField(blank=True, help_text="Paste the text, or upload a file below.")
    upload = models.FileField(upload_to="knowledge/", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of chunks embedded.")
    error = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title


class KnowledgeChunk(models.Model):
    document = models.ForeignKey(KnowledgeDocument, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    text = models.TextField()
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True)
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["document", "position"]
        indexes = [
            HnswIndex(
                name="chunk_embedding_hnsw",
                fields=["embedding"],
                m=16,
                # Twice pgvector's default: a better graph, so a search visits fewer candidates for the
                # same recall (bench/kb_search.py at 100k chunks: 0.977 at ef_search 120 against 0.971
                # with 64), for a build about 1.7 times as long.
                ef_construction=128,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(name="chunk_search_gin", fields=["search"]),
        ]

    def __str__(self):
        return f"{self.document} #{self.position}"


class Tool(models.Model):
    """Mirror of a tool declared in code (agents/tools/), so admins can see it and switch it off,
    or a tool of an outside agent that asks reviewers for decisions through the approvals API.

    Who may approve its calls is a django-guardian object permission (`approve_tool`), granted to
    people or groups on the tool's "Object permissions" page.
    """

    class Risk(models.TextChoices):
        SAFE = "safe"
        GATED = "gated", "gated (a reviewer approves each call)"

    class ReviewRisk(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    class OnExpiry(models.TextChoices):
        REJECT = "reject", "reject the call (the AI tells the customer)"
        HAND_OVER = "hand_over", "hand the conversation to a person"

    name = models.SlugField(max_length=80, unique=True)
    description = models.TextField()
    risk = models.CharField(max_length=10, choices=Risk.choices)
    argument_schema = models.JSONField(default=dict)
    timeout_seconds = models.FloatField()
    retries = models.PositiveSmallIntegerField()
    cache_ttl_seconds = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True, help_text="Off: no AI agent can call it, effective at once.")
    declared = models.BooleanField(default=True, help_text="Still declared in code.")
    external = models.BooleanField(
        default=False,
        help_text="An outside agent's tool: it asks reviewers through the approvals API, the console never calls it.",
    )
    review_risk = models.CharField(
        max_length=10, choices=ReviewRisk.choices, default=ReviewRisk.MEDIUM, help_text="How reviewers see its calls."
    )
    decision_deadline_seconds = models.PositiveIntegerField(
        "decide within (seconds)", default=48 * 3600, help_text="A call nobody decided by then expires."
    )
    escalate_after_seconds = models.PositiveIntegerField(
        "escalate after (seconds)",
        default=24 * 3600,
        help_text="An undecided call is highlighted to supervisors after this long.",
    )
    on_expiry = models.CharField(max_length=10, choices=OnExpiry.choices, default=OnExpiry.REJECT)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("approve_tool", "May approve calls of this tool")]

    def __str__(self):
        return self.name


class ToolCall(models.Model):
    """One executed tool call, keyed so that a retried run step never repeats its side effect."""

    tool = models.ForeignKey(Tool, on_delete=models.PROTECT, related_name="calls")
    idempotency_key = models.CharField(max_length=200, unique=True)
    arguments = models.JSONField()
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    latency_ms = models.FloatField(default=0)
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="tool_calls"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.tool} {self.idempotency_key}"


class DemoOrder(models.Model):
    """The demo shop's own orders, served over HTTP by agents/demo_shop (a stand-in for a real
    shop backend that the demo tools call)."""

    class Status(models.TextChoices):
        PROCESSING = "processing"
        SHIPPED = "shipped"
        DELIVERED = "delivered"
        CANCELLED = "cancelled"
        REFUNDED = "refunded"

    number = models.CharField(max_length=20, unique=True)
    customer_email = models.EmailField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="EUR")
    shipping_address = models.TextField(blank=True)
    carrier = models.CharField(max_length=40, blank=True, help_text="Who delivers it, once it has shipped.")
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    placed_at = models.DateTimeField()

    class Meta:
        ordering = ["-placed_at"]

    def __str__(self):
        return self.number


# Pipelines and AI agents --------------------------------------------------------------------


class Versioned(models.Model):
    """A named thing whose content lives in numbered, immutable versions (`versions`)."""

    name = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def latest_version(self):
        return self.versions.order_by("-number").first()


class Version(models.Model):
    """One immutable version: runs and agents point at it, so a trace shows what produced it."""

    number = models.PositiveIntegerField()
    note = models.CharField(max_length=300, blank=True, help_text="What changed in this version.")
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Pipeline(Versioned):
    """A named AI pipeline. Its graph lives in its versions; its kind says what its runs advance
    (a chat turn, a document analysis, an application) and so which nodes its graph may use."""

    description = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=RunKind.choices, default=RunKind.TURN)


class PipelineVersion(Version):
    """One graph of a pipeline: nodes, and edges with JMESPath conditions."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    graph = models.JSONField()

    class Meta:
        ordering = ["pipeline", "-number"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "number"], name="one_pipeline_version_number")]

    def __str__(self):
        return f"{self.pipeline} v{self.number}"


class Prompt(Versioned):
    """A named system prompt. Its text lives in its versions."""


class PromptVersion(Version):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    text = models.TextField()

    class Meta:
        ordering = ["prompt", "-number"]
        constraints = [models.UniqueConstraint(fields=["prompt", "number"], name="one_prompt_version_number")]

    def __str__(self):
        return f"{self.prompt} v{self.number}"


class DraftReview(models.TextChoices):
    OFF = "off"
    BELOW_CONFIDENCE = "below_confidence", "below a confidence threshold"
    ALL = "all", "every reply"


class AIAgent(models.Model):
    """What answers an inbox: a pinned pipeline version with its models, prompt and limits."""

    name = models.CharField(max_length=120, unique=True)
    pipeline_version = models.ForeignKey(
        PipelineVersion, on_delete=models.PROTECT, related_name="agents", help_text="Pinned: runs use exactly this."
    )
    system_prompt = models.ForeignKey(PromptVersion, on_delete=models.PROTECT, related_name="agents")
    default_profile = models.ForeignKey(
        ModelProfile,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The model profile of every model-using node not listed below.",
    )
    node_profiles = models.JSONField(
        default=dict,
        blank=True,
        help_text='Model profile per node id, e.g. {"classify": "fast", "answer": "powerful"}.',
    )
    confidence_threshold = models.FloatField(
        default=0.5, help_text="Below this intent confidence the conversation goes to a person."
    )
    allowed_tools = models.ManyToManyField(Tool, blank=True, related_name="agents")
    skills_by_intent = models.JSONField(
        default=dict, blank=True, help_text='Skills a person needs per intent, e.g. {"refund": ["billing"]}.'
    )
    handover_message = models.TextField(
        default="I'm passing you to a person from our team. They will reply here as soon as they can."
    )
    apology_message = models.TextField(
        default=(
            "Sorry, I'm having trouble answering right now. I'm passing you to a person from our team, "
            "who will reply here as soon as they can."
        ),
        help_text="Sent when the models fail and a person takes over.",
    )
    max_consecutive_errors = models.PositiveSmallIntegerField(
        default=3, help_text="Failed attempts of one node before a person takes over."
    )
    turn_limit = models.PositiveSmallIntegerField(
        default=12, help_text="AI replies in a row before a person takes over."
    )
    holding_message = models.TextField(
        default="A colleague is checking this, you will hear back here.",
        help_text="Sent while an action or a reply waits for a reviewer's decision.",
    )
    draft_review = models.CharField(
        max_length=20,
        choices=DraftReview.choices,
        default=DraftReview.OFF,
        help_text="Replies a reviewer approves before the customer sees them.",
    )
    draft_review_threshold = models.FloatField(
        default=0.7, help_text="With “below confidence”: replies whose intent confidence is under this are reviewed."
    )
    breaker_usd_per_hour = models.DecimalField(
        "pause above (USD per hour)",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="Cost circuit breaker: when the agent's model calls of the last hour cost more, it is paused "
        "and its inboxes hand every new turn to people until an admin resumes it. Empty: never.",
    )
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AI agent"

    def __str__(self):
        return self.name

    def profile_for(self, node_id: str) -> str:
        return self.node_profiles.get(node_id) or self.default_profile.name


class ToolApprovalRule(models.Model):
    """When an AI agent's call of a tool waits for a reviewer although the tool is safe (a gated
    tool always does): a JMESPath condition over the call's arguments, such as amount > `50`."""

    agent = models.ForeignKey(AIAgent, on_delete=models.CASCADE, related_name="approval_rules")
    tool = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="approval_rules")
    condition = models.CharField(
        max_length=500, help_text="JMESPath over the arguments; the call waits for a reviewer when it holds."
    )
    note = models.CharField(max_length=200, blank=True, help_text="Why, in a few words.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agent", "tool"], name="one_approval_rule_per_agent_tool")]

    def __str__(self):
        return f"{self.tool} when {self.condition}"

    def clean(self):
        from agents.tools.approvals import condition_problem

        problem = condition_problem(self.condition)
        if problem:
            raise ValidationError({"condition": problem})


class PipelineRun(models.Model):
    """One run of a pipeline over its subject, advanced node by node with a checkpoint after each:
    an AI turn of a conversation, or a workflow's document analysis or application."""

    class Status(models.TextChoices):
        RUNNING = "running"
        WAITING = "waiting"
        FINISHED = "finished"
        HANDED_OVER = "handed_over"
        FAILED = "failed"

    ACTIVE = (Status.RUNNING, Status.WAITING)
    Kind = RunKind

    kind = models.CharField(max_length=20, choices=RunKind.choices, default=RunKind.TURN)
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    analysis = models.ForeignKey(
        "agents.DocumentAnalysis", null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    application = models.ForeignKey(
        "agents.Application", null=True, blank=True, on_delete=models.CASCADE, related_name="runs"
    )
    agent = models.ForeignKey(AIAgent, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    version = models.ForeignKey(PipelineVersion, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    trace_id = models.CharField(max_length=32, unique=True)
    state = models.JSONField(default=dict, help_text="What the nodes found so far; conditions read it.")
    next_node = models.CharField(max_length=80, blank=True, help_text="Where a resumed run continues.")
    last_message_id = models.BigIntegerField(
        null=True, blank=True, help_text="The newest customer message this turn answers."
    )
    reason = models.CharField(max_length=60, blank=True, help_text="Why it handed over or failed.")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # Turns of one conversation never overlap: at most one run is open at a time.
            models.UniqueConstraint(
                fields=["conversation"], condition=models.Q(status__in=["running", "waiting"]), name="one_open_run"
            ),
            # Each run has the subject of its kind, and only that one.
            models.CheckConstraint(
                condition=models.Q(kind="turn", conversation__isnull=False, analysis=None, application=None)
                | models.Q(kind="document_analysis", analysis__isnull=False, conversation=None, application=None)
                | models.Q(kind="application", application__isnull=False, conversation=None, analysis=None),
                name="run_subject_of_its_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self):
        subject = self.conversation_id or self.analysis_id or self.application_id
        return f"run {self.pk} of {self.get_kind_display()} {subject} ({self.status})"


class RunItem(models.Model):
    """One item of a run's fan-out (a chunk of a document): a checkpoint of its own, so a worker
    killed mid-way repeats only the items that were not done, and a failing item is retried, then
    reported failed, never dropped."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    OPEN = (Status.PENDING, Status.RUNNING)

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="items")
    node = models.CharField(max_length=80, help_text="The map node that fanned it out.")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    input = models.JSONField(default=dict)
    output = models.JSONField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    error = models.TextField(blank=True)
    # The Celery task that holds it: a redelivery of that task (its worker died) may take it back.
    claimed_by = models.CharField(max_length=64, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    latency_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "node", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "node", "index"], name="one_item_per_run_node_index")]
        indexes = [models.Index(fields=["status", "updated_at"])]

    def __str__(self):
        return f"{self.run_id}/{self.node}#{self.index} ({self.status})"


class RunStep(models.Model):
    """A finished node of a run: the checkpoint a resumed run continues after."""

    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    node = models.CharField(max_length=80)
    node_type = models.CharField(max_length=20)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OK)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    latency_ms = models.FloatField(default=0)
    tools = models.JSONField(default=list, blank=True, help_text="Tool calls: name, outcome, replayed.")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_step_per_index")]

    def __str__(self):
        return f"{self.run_id}#{self.index} {self.node}"


# Budgets ------------------------------------------------------------------------------------


class Budget(models.Model):
    """Spending caps for an AI agent, an inbox, or each customer (of one inbox, or of all).

    The gateway checks every budget that applies before a model call and charges the call's
    cost after it (agents.llm.budgets). Hours, days and months roll over in the inbox's time zone
    (an AI agent's in the console's TIME_ZONE, since it may answer inboxes in several).
    """

    class Scope(models.TextChoices):
        AI_AGENT = "ai_agent", "an AI agent"
        INBOX = "inbox", "an inbox"
        CUSTOMER = "customer", "each customer"

    class OnExceeded(models.TextChoices):
        HAND_OVER = "hand_over", "hand the conversation to a person"
        CHEAPER_PROFILE = "cheaper_profile", "switch to a cheaper model profile"

    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    ai_agent = models.ForeignKey(
        AIAgent, null=True, blank=True, on_delete=models.CASCADE, related_name="budgets", verbose_name="AI agent"
    )
    inbox = models.ForeignKey(
        "conversations.Inbox",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="budgets",
        help_text="For an inbox; for each customer, only that inbox's customers (empty: every inbox's).",
    )
    hourly_usd = models.DecimalField("USD per hour", max_digits=12, decimal_places=4, null=True, blank=True)
    daily_usd = models.DecimalField("USD per day", max_digits=12, decimal_places=4, null=True, blank=True)
    monthly_usd = models.DecimalField("USD per month", max_digits=12, decimal_places=4, null=True, blank=True)
    conversation_tokens = models.PositiveIntegerField(
        "tokens per conversation", null=True, blank=True, help_text="Prompt and completion tokens of all its calls."
    )
    alert_ratio = models.FloatField(
        "alert at", default=0.8, help_text="Share of a cap (0–1) at which the dashboard warns."
    )
    on_exceeded = models.CharField(max_length=20, choices=OnExceeded.choices, default=OnExceeded.HAND_OVER)
    cheaper_profile = models.ForeignKey(
        ModelProfile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="With “switch to a cheaper model profile”: the profile calls use once a cap is reached.",
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        if self.scope == self.Scope.AI_AGENT and not self.ai_agent_id:
            raise ValidationError({"ai_agent": "Choose the AI agent this budget is for."})
        if self.scope == self.Scope.INBOX and not self.inbox_id:
            raise ValidationError({"inbox": "Choose the inbox this budget is for."})
        if self.scope != self.Scope.AI_AGENT and self.ai_agent_id:
            raise ValidationError({"ai_agent": "Only a budget for an AI agent names one."})
        if self.scope == self.Scope.AI_AGENT and self.inbox_id:
            raise ValidationError({"inbox": "A budget for an AI agent names no inbox."})
        caps = (self.hourly_usd, self.daily_usd, self.monthly_usd, self.conversation_tokens)
        if all(cap is None for cap in caps):
            raise ValidationError("Give at least one cap.")
        if not 0 < self.alert_ratio <= 1:
            raise ValidationError({"alert_ratio": "A share between 0 and 1, such as 0.8."})
        if self.on_exceeded == self.OnExceeded.CHEAPER_PROFILE and not self.cheaper_profile_id:
            raise ValidationError({"cheaper_profile": "Choose the profile to switch to."})

    def caps(self) -> dict[str, Decimal]:
        """The USD caps set, by period."""
        caps = {"hour": self.hourly_usd, "day": self.daily_usd, "month": self.monthly_usd}
        return {period: cap for period, cap in caps.items() if cap is not None}


class BudgetUsage(models.Model):
    """What one budget's subject spent in one period. `reserved` holds the estimates of calls
    under way: a call is let through only while spent + reserved is under the cap, and a
    conditional UPDATE makes that check and the reservation one atomic step, so concurrent
    workers overshoot a cap by at most one call's estimate."""

    PERIODS = ("hour", "day", "month")

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="usages")
    subject_id = models.BigIntegerField(default=0, help_text="The customer, for a budget of each customer.")
    period = models.CharField(max_length=5)
    starts_at = models.DateTimeField()
    spent_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    reserved_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    calls = models.PositiveIntegerField(default=0)
    alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["budget", "subject_id", "period", "starts_at"], name="one_usage_per_budget_period"
            )
        ]

    def __str__(self):
        return f"{self.budget} {self.period} from {self.starts_at:%Y-%m-%d %H:%M}"


# The back-office workflows' models live in their own module and belong to this app.
from agents.workflows.models import Application, DocumentAnalysis, Workflow  # noqa: E402, F401
