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
