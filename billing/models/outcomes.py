"""Outcome verification: agreed baselines, and the statements a buyer verifies before paying."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.plans import Metric, OutcomeCharge
from billing.models.subscriptions import Subscription
from billing.money import amount_field, quantity_field


class Baseline(models.Model):
    """What a metric would have been per period without the solution (kWh used before), agreed
    by both sides before the periods it applies to.

    Versioned: a new value is a new row with the next number; the one that applies to a period
    is the newest agreed before the period started and effective by then. One side proposes,
    the other agrees; an unagreed proposal applies to nothing.
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="baselines"
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(_("version"))
    value = quantity_field(_("baseline per period"))
    effective_from = models.DateTimeField(_("applies to periods from"))
    note = models.CharField(_("how it was measured"), max_length=300, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_by_vendor = models.BooleanField(default=True)
    proposed_at = models.DateTimeField(default=timezone.now)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agreed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subscription", "metric", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "metric", "number"], name="baseline_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric.code} baseline v{self.number}: {self.value}"

    @property
    def is_agreed(self) -> bool:
        return self.agreed_at is not None


class OutcomeStatement(models.Model):
    """The outcomes of one closed period, claimed by the vendor and verified by the buyer.

    Opened at period close with a line per outcome charge; the period's invoice waits for it.
    """

    class Status(models.TextChoices):
        # The buyer may accept or dispute lines until the window ends; disputes may outlast it.
        OPEN = "open", _("Open for verification")
        # Every line has its final value; the invoice was issued with them.
        SETTLED = "settled", _("Settled")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="outcome_statements"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    window_ends_at = models.DateTimeField(_("verify by"))
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    settled_at = models.DateTimeField(null=True, blank=True)
    # When the buyer's billing people were asked to verify it (billing.tasks.billing_notices_send).
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_end"], name="statement_per_period"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "window_ends_at"], name="statement_due"),
            models.Index(
                fields=["created_at"],
                condition=models.Q(notified_at__isnull=True),
                name="statement_to_notify",
            ),
        ]

    def __str__(self) -> str:
        return f"Outcomes of {self.subscription} to {self.period_end:%Y-%m-%d}"


class OutcomeLine(models.Model):
    """One outcome charge of a statement: what was measured, against which baseline, for how much.

    The claim is computed by billing.rating from the measured quantity; a dispute may end at
    another quantity, rated the same way (floor and cap still apply).
    """

    class Status(models.TextChoices):
        # Waiting for the buyer; settles at the claim when the window ends.
        OPEN = "open", _("To verify")
        # The buyer disputes it; the vendor answers.
        DISPUTED = "disputed", _("Disputed")
        # The vendor answered with a value or evidence; the buyer accepts it or staff decide.
        ANSWERED = "answered", _("Answered")
        # Final: invoiced at settled_amount.
        SETTLED = "settled", _("Settled")

    class Resolution(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted by the buyer")
        UNDISPUTED = "undisputed", _("Not disputed within the window")
        AGREED = "agreed", _("Agreed after a dispute")
        DECIDED = "decided", _("Decided by Precis staff")

    statement = models.ForeignKey(OutcomeStatement, on_delete=models.CASCADE, related_name="lines")
    charge = models.ForeignKey(OutcomeCharge, on_delete=models.PROTECT, related_name="+")
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    measured = quantity_field(_("measured"))
    baseline = models.ForeignKey(
        Baseline, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    baseline_value = quantity_field(_("baseline"), null=True, blank=True)
    claimed_amount = amount_field(_("claimed"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    dispute_reason = models.TextField(blank=True)
    answer_quantity = quantity_field(_("answered quantity"), null=True, blank=True)
    answer_note = models.TextField(blank=True)
    settled_quantity = quantity_field(null=True, blank=True)
    settled_amount = amount_field(_("settled"), null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "pk"]

    def __str__(self) -> str:
        return f"{self.metric.code}: {self.claimed_amount}"

    @property
    def amount(self):
        """What the line is worth now: settled, else claimed."""
        return self.settled_amount if self.settled_amount is not None else self.claimed_amount


class OutcomeLineEvent(models.Model):
    """Append-only history of a line's verification: who said what, with which value."""

    class Action(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        DISPUTED = "disputed", _("Disputed")
        ANSWERED = "answered", _("Answered")
        ANSWER_ACCEPTED = "answer_accepted", _("Answer accepted")
        DECIDED = "decided", _("Decided by staff")
        SETTLED = "settled", _("Settled when the window ended")

    line = models.ForeignKey(OutcomeLine, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=24, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    quantity = quantity_field(null=True, blank=True)
    amount = amount_field(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["line", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"
