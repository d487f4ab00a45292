from django.contrib.postgres.fields import ArrayField
from django.db import models


class DailyMetric(models.Model):
    """One figure of one day (UTC) and inbox, rolled up from the raw rows (hilconsole.rollups):
    the dashboard and Prometheus read these, so they stay fast at any volume, and they outlive
    the raw rows that retention deletes.

    `count` events of `metric` (broken down by `key`: an outcome, a reason, a model, a tool),
    `total` the sum of their values (seconds, USD, ratings), and for durations a histogram:
    `buckets[i]` counts the values up to the metric's i-th bound (the last: above every bound).
    """

    day = models.DateField()
    inbox = models.ForeignKey("conversations.Inbox", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=40)
    key = models.CharField(max_length=300, blank=True)
    count = models.BigIntegerField(default=0)
    total = models.FloatField(default=0)
    buckets = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta:
        ordering = ["-day", "metric", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "inbox", "metric", "key"], name="one_daily_metric", nulls_distinct=False
            )
        ]
        indexes = [models.Index(fields=["day", "metric"])]

    def __str__(self):
        return f"{self.day} {self.metric} {self.key}: {self.count}"


class RollupState(models.Model):
    """How far the rollups have read: per insert-only source table, the highest id seen by the
    last two refreshes (a row whose id was taken before a refresh but committed after it is
    found by the next one), and the day before which every day was recomputed after it ended."""

    source = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)
    previous_id = models.BigIntegerField(default=0)
    complete_before = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.source} through #{self.last_id}"
