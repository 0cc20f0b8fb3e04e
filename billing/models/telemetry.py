"""Telemetry as stored: one row per event an installation pushed, kept forever."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models.plans import Metric
from billing.models.subscriptions import Installation, Subscription
from billing.money import quantity_field


class UsageEvent(models.Model):
    """One measurement pushed by a buyer's platform, unique per installation and client id.

    Never updated or deleted, and nothing it refers to is ever deleted while it exists
    (installations, subscriptions and metrics are ended or revoked, not removed). The same id
    sent again with the same content is a duplicate (ignored); with other content it is
    refused. Events arriving while the subscription is not
    entitled are stored and flagged; events for a period already invoiced are stored and
    marked late, to be billed as an adjustment.
    """

    # The busiest table: its references are checked by the ingestion service, not by
    # per-row foreign-key triggers, and indexed only by the two composite indexes below.
    installation = models.ForeignKey(
        Installation,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # Denormalized from the installation: metering groups by subscription without a join.
    subscription = models.ForeignKey(
        Subscription,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    metric = models.ForeignKey(
        Metric, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    client_id = models.CharField(_("event id"), max_length=128)
    value = quantity_field(_("value"))
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    # blake2b (16 bytes, hex) of the event's canonical content: tells a duplicate from a clash.
    content_hash = models.CharField(max_length=32)
    flagged = models.BooleanField(default=False)
    late = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "client_id"], name="usage_event_once_per_installation"
            ),
        ]
        indexes = [
            # Carries the value (PostgreSQL), so that metering and the period close sum usage
            # from the index alone, without visiting the table's pages
            # (tests/perf/test_bench_close.py).
            models.Index(
                fields=["subscription", "metric", "occurred_at"],
                include=["value"],
                name="usage_event_metering",
            ),
            # Late events are few; period close looks for them on every run.
            models.Index(
                fields=["subscription", "occurred_at"],
                condition=models.Q(late=True),
                name="usage_event_late",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_id}: {self.value}"
