import secrets

from django.db import models


def new_widget_token() -> str:
    return secrets.token_urlsafe(24)


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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inboxes"
        ordering = ["name"]

    def __str__(self):
        return self.name
