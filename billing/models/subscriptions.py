"""Who uses what: billing accounts, subscriptions with their history, installations and keys."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.plans import PlanVersion
from billing.money import amount_field, currency_field


class BillingAccount(models.Model):
    """How a buyer organization pays: what decides whether a trial may turn into a subscription.

    A trial converts at its end when the buyer has a payment method or accepted invoice terms
    on file; otherwise it expires.
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="billing_account"
    )
    invoice_terms_accepted_at = models.DateTimeField(null=True, blank=True)
    invoice_terms_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # True while a card is on file (default_card), for the trial's conversion.
    has_payment_method = models.BooleanField(default=False)
    billing_email = models.EmailField(blank=True)
    # The organization as a Stripe customer (billing/gateway.py), once it saves a card.
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    default_card = models.ForeignKey(
        "billing.PaymentMethod", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_customer_id"],
                condition=~models.Q(stripe_customer_id=""),
                name="one_account_per_stripe_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"Billing account of {self.organization}"

    @property
    def can_pay(self) -> bool:
        return self.has_payment_method or self.invoice_terms_accepted_at is not None


class Subscription(models.Model):
    """A buyer organization's use of one plan version, from trial to its end.

    Periods are computed in the buyer's time zone (billing.periods).
    """

    class Status(models.TextChoices):
        # Trying for free until trial_ends_at (or the usage allowance runs out).
        TRIALING = "trialing", _("Trial")
        # Paid for, period after period.
        ACTIVE = "active", _("Active")
        # A payment failed; still entitled while it is retried.
        PAST_DUE = "past_due", _("Past due")
        # Stopped by the buyer for a while: no entitlement, no recurring fee, data kept.
        PAUSED = "paused", _("Paused")
        # Ended by the buyer (at the end of a period).
        CANCELED = "canceled", _("Canceled")
        # The trial ended without a way to pay: entitlement off, data kept, one click to resume.
        EXPIRED = "expired", _("Expired")

    ENTITLED = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)

    buyer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="subscriptions"
    )
    plan_version = models.ForeignKey(
        PlanVersion, on_delete=models.PROTECT, related_name="subscriptions"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    started_at = models.DateTimeField(default=timezone.now)
    trial_ends_at = models.DateTimeField(null=True, blank=True)
    trial_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    # The local day paid periods count from (a month after 31 January ends on 28 February,
    # and the next one on 31 March); set when the subscription is first paid for.
    period_anchor = models.DateField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When it was last paused; kept after it resumes, so that the period close invoices the
    # usage up to the pause even when the pause ended before a close ran.
    paused_at = models.DateTimeField(null=True, blank=True)
    # Set when every retry of a failed payment failed too: no entitlement (telemetry is still
    # stored) until an invoice is paid (billing.services.dunning).
    suspended_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Usage before this instant belongs to periods already invoiced: a late event is still
    # stored, and billed as an adjustment in the next invoice.
    closed_through = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "trial_ends_at"], name="subscription_trial_due")]

    def __str__(self) -> str:
        return f"{self.buyer} on {self.plan_version}"

    @property
    def is_entitled(self) -> bool:
        return self.status in self.ENTITLED and self.suspended_at is None


class SubscriptionEvent(models.Model):
    """Append-only history of a subscription: who changed what, and when."""

    class Action(models.TextChoices):
        TRIAL_STARTED = "trial_started", _("Trial started")
        STARTED = "started", _("Subscribed")
        ACTIVATED = "activated", _("Trial converted")
        EXPIRED = "expired", _("Trial expired")
        RESUMED = "resumed", _("Resumed")
        PLAN_CHANGED = "plan_changed", _("Plan changed")
        CANCEL_SCHEDULED = "cancel_scheduled", _("Cancellation scheduled")
        CANCEL_UNDONE = "cancel_undone", _("Cancellation withdrawn")
        CANCELED = "canceled", _("Canceled")
        PAUSED = "paused", _("Paused")
        PERIOD_RENEWED = "period_renewed", _("New period")
        REMINDER_SENT = "reminder_sent", _("Trial reminder sent")
        PAYMENT_FAILED = "payment_failed", _("Payment failed")
        SUSPENDED = "suspended", _("Suspended for non-payment")
        RECOVERED = "recovered", _("Payment recovered")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=24, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # see subscription_event_actor
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # The period close writes events with no actor by the thousand: only people's are
        # indexed.
        indexes = [
            models.Index(
                fields=["actor"],
                condition=models.Q(actor__isnull=False),
                name="subscription_event_actor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class Installation(models.Model):
    """Where a subscribed solution runs (a plant, a line or a machine); its keys push telemetry."""

    class Kind(models.TextChoices):
        PLANT = "plant", _("Plant")
        LINE = "line", _("Line")
        MACHINE = "machine", _("Machine")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="installations"
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PLANT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["subscription", "name", "pk"]

    def __str__(self) -> str:
        return self.name


class InstallationKey(models.Model):
    """An API key of an installation: shown once, stored as a hash, known by its prefix.

    Keys are 256-bit random secrets, so a plain SHA-256 is the right hash (a slow password
    hash would only slow every telemetry request). Rotating issues a new key and revokes the
    old one.
    """

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="keys")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["installation", "-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PendingItem(models.Model):
    """An amount waiting for the subscription's next invoice: a proration, an adjustment.

    Positive is owed by the buyer, negative is a credit. Invoicing sets invoiced_at once.
    """

    class Kind(models.TextChoices):
        PRORATION = "proration", _("Proration")
        ADJUSTMENT = "adjustment", _("Adjustment")

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="pending_items"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=200)
    amount = amount_field()
    currency = currency_field()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    invoiced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["subscription", "created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount} {self.currency}"
