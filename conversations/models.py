import hashlib
import hmac
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def new_widget_token() -> str:
    return secrets.token_urlsafe(24)


def new_identity_secret() -> str:
    return secrets.token_hex(32)


def token_digest(token: str) -> str:
    """Customer tokens are stored as digests only: a database leak must not leak sessions."""
    return hashlib.sha256(token.encode()).hexdigest()


def person_name(user) -> str:
    """How customers and colleagues see a support agent: their desk display name, else first name."""
    # Read through the reverse one-to-one of the desk profile, which may not exist.
    profile = getattr(user, "human_agent", None)
    return (profile and profile.display_name) or user.first_name or user.get_username()


def validate_time_zone(name: str) -> None:
    if name not in zoneinfo.available_timezones():
        raise ValidationError(f"{name!r} is not a time zone name such as Europe/Berlin.")


class AutoAssignment(models.TextChoices):
    OFF = "off", "off (agents claim)"
    ROUND_ROBIN = "round_robin", "round robin"
    BALANCED = "balanced", "balanced (fewest open conversations)"


class Inbox(models.Model):
    """A website channel: the widget embedded on a site talks to exactly one inbox."""

    name = models.CharField(max_length=120, unique=True)
    widget_token = models.CharField(
        max_length=64,
        unique=True,
        default=new_widget_token,
        help_text="Public token the embedded widget sends; not a secret.",
    )
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Sites allowed to embed the widget, such as ["https://shop.example.com"].',
    )
    greeting = models.CharField(max_length=300, blank=True, default="Hi! How can we help?")
    identity_secret = models.CharField(
        max_length=128,
        default=new_identity_secret,
        help_text="Your site signs a logged-in customer's identifier with this secret (HMAC-SHA256). Keep it private.",
    )
    identity_verification_required = models.BooleanField(
        default=False,
        help_text="Refuse widget sessions whose identifier is not signed with the identity secret.",
    )
    business_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='Optional, such as {"timezone": "Europe/Berlin", "mon": ["09:00", "17:00"], ...}.',
    )
    csat_enabled = models.BooleanField("ask for a rating", default=True)
    ai_agent = models.ForeignKey(
        "agents.AIAgent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inboxes",
        verbose_name="AI agent",
        help_text="Answers customers first. Empty: every conversation goes straight to a person.",
    )
    auto_assignment = models.CharField(
        max_length=20,
        choices=AutoAssignment.choices,
        default=AutoAssignment.OFF,
        help_text="Hand new handovers to online agents with the skills and free capacity, or leave them to be claimed.",
    )
    sla_claim_seconds = models.PositiveIntegerField(
        "escalate after (seconds)",
        default=180,
        help_text="A handover nobody claimed for this long is escalated: priority raised, supervisors notified.",
    )
    offline_grace_seconds = models.PositiveIntegerField(
        "offline grace (seconds)",
        default=120,
        help_text="How long an agent may be offline before their open conversations go back to the queue.",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Budgets' days and months roll over at midnight here (an IANA name such as Europe/Berlin).",
    )
    retention_days = models.PositiveIntegerField(
        "keep conversations for (days)",
        default=90,
        help_text="Messages, AI run details and tool calls older than this are deleted every night.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inboxes"
        ordering = ["name"]
        # Granted per inbox with django-guardian (the inbox's "Object permissions" page in the admin).
        permissions = [("work_inbox", "Can work this inbox's conversations on the desk")]

    def __str__(self):
        return self.name

    def identifier_hash(self, identifier: str) -> str:
        return hmac.new(self.identity_secret.encode(), identifier.encode(), hashlib.sha256).hexdigest()

    def verifies(self, identifier: str, identifier_hash: str) -> bool:
        # As bytes: compare_digest refuses strings with non-ASCII characters instead of answering.
        return hmac.compare_digest(self.identifier_hash(identifier).encode(), identifier_hash.lower().encode())

    def allows_origin(self, origin: str) -> bool:
        return origin.rstrip("/") in {allowed.rstrip("/") for allowed in self.allowed_origins}


class Customer(models.Model):
    """Somebody chatting through one inbox's widget; anonymous unless the site vouched for them."""

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="customers")
    # NULL, not "": anonymous customers must not collide in the unique constraint below.
    identifier = models.CharField(  # noqa: DJ001
        max_length=200,
        null=True,
        blank=True,
        help_text="The site's own id for this customer; set only when verified by identifier_hash.",
    )
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    custom_attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "identifier"], name="one_customer_per_verified_identifier")
        ]

    def __str__(self):
        return self.name or self.email or self.identifier or f"Visitor #{self.pk}"


class CustomerToken(models.Model):
    """A widget session of a customer (one per device); only its digest is stored. It expires
    after WIDGET_TOKEN_IDLE_DAYS without use, and rotating it replaces it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Moved forward at most once per TOKEN_USE_RECORDED_EVERY, not on every request.
    last_used_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"Widget session of {self.customer} since {self.created_at:%Y-%m-%d}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        NEW = "new"
        AI_PROCESSING = "ai_processing"
        FINISHED = "finished"
        HANDOVER = "handover"
        PENDING_HUMAN = "pending_human"
        HUMAN_ACTIVE = "human_active"
        RESOLVED = "resolved"
        BACK_TO_AI = "back_to_ai"

    class Priority(models.IntegerChoices):
        LOW = 0
        NORMAL = 1
        HIGH = 2
        URGENT = 3

    inbox = models.ForeignKey(Inbox, on_delete=models.PROTECT, related_name="conversations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    priority = models.IntegerField(choices=Priority.choices, default=Priority.NORMAL)
    handover_reason = models.CharField(max_length=200, blank=True)
    handover_summary = models.TextField(blank=True)
    handover_intent = models.CharField(max_length=60, blank=True)
    handover_confidence = models.FloatField(null=True, blank=True)
    required_skills = models.JSONField(default=list, blank=True)
    csat_rating = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_comment = models.TextField(blank=True)
    csat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # When the conversation last entered each state (the SLA timers and metrics read these).
    ai_processing_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    handover_at = models.DateTimeField(null=True, blank=True)
    pending_human_at = models.DateTimeField(null=True, blank=True)
    human_active_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    back_to_ai_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    # Service levels of the latest handover: reset when the conversation is handed over again.
    escalated_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_response_seconds = models.FloatField(null=True, blank=True)
    resolution_seconds = models.FloatField(null=True, blank=True)
    # The newest message a person has dealt with (replied after it, or resolved having seen it):
    # the AI answers only customer messages after it and after those its runs covered.
    handled_through = models.BigIntegerField(default=0)
    # Who last gave it back to the queue: auto-assignment does not hand it straight back to them.
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["inbox", "status"]), models.Index(fields=["customer", "-created_at"])]

    def __str__(self):
        return f"#{self.pk} {self.customer} ({self.status})"

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.FINISHED, self.Status.RESOLVED)


class Message(models.Model):
    class Sender(models.TextChoices):
        CUSTOMER = "customer"
        AI = "ai"
        HUMAN = "human"
        SYSTEM = "system"
        NOTE = "note", "internal note"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    sender = models.CharField(max_length=10, choices=Sender.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    content = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    # NULL for messages not sent by a widget (AI, humans), which the unique constraint ignores.
    client_message_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A retried post (same client id) must never store the message twice. Per sender: a
            # customer's id can never take the key of an AI reply ("run-5-reply") or block it.
            models.UniqueConstraint(
                fields=["conversation", "sender", "client_message_id"], name="one_message_per_sender_client_id"
            )
        ]

    def __str__(self):
        return f"{self.sender}: {self.content[:60]}"

    @property
    def author_name(self) -> str:
        if self.sender in (self.Sender.HUMAN, self.Sender.NOTE) and self.author:
            return person_name(self.author)
        if self.sender == self.Sender.AI:
            return "AI assistant"
        if self.sender == self.Sender.CUSTOMER:
            return self.conversation.customer.name
        return ""


class AuditEvent(models.Model):
    """Append-only record of who changed what and when; every app writes through `audit_record()`."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, help_text="Who acted, kept even if the user is deleted.")
    action = models.CharField(max_length=80)
    target_type = models.CharField(max_length=80)
    target_id = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.actor_label} {self.action} {self.target_type}#{self.target_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")
