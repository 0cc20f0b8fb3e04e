"""Cards saved with Stripe, the attempts to collect invoices with them, and Stripe's webhooks."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.invoicing import Invoice
from billing.models.subscriptions import BillingAccount
from billing.money import amount_field, currency_field


class PaymentMethod(models.Model):
    """A card a buyer saved with Stripe for payments made while nobody is there (off-session).

    Precis keeps what a person needs to recognise the card, never its number.
    """

    account = models.ForeignKey(BillingAccount, on_delete=models.CASCADE, related_name="cards")
    stripe_id = models.CharField(max_length=64, unique=True)
    brand = models.CharField(max_length=24)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.brand} ···· {self.last4}"


class Payment(models.Model):
    """One attempt to collect an issued invoice with a saved card.

    The row is written, with its idempotency key, before Stripe is asked: if the process dies
    while waiting, the next attempt sends the same key and Stripe answers with the first
    outcome instead of charging again.
    """

    class Status(models.TextChoices):
        # Sent (or about to be sent) to Stripe; no final answer yet.
        PENDING = "pending", _("Pending")
        # Stripe is still moving the money (some payment methods take days).
        PROCESSING = "processing", _("Processing")
        SUCCEEDED = "succeeded", _("Succeeded")
        # Declined or failed: the invoice stays issued and dunning retries it.
        FAILED = "failed", _("Failed")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    attempt = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=120, unique=True)
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    stripe_payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    amount = amount_field()
    currency = currency_field()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    # For a failed attempt: when dunning tries the invoice again (None: no further attempt).
    retry_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["invoice", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "attempt"], name="one_payment_per_attempt"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.attempt} {self.status}"


class StripeEvent(models.Model):
    """Stripe's webhook events, each stored once by its id and then processed by a task.

    The endpoint only verifies and stores; processing reads the object from Stripe again, so
    it does not matter in which order, or how many times, events arrive.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")  # stored, waiting for its task
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")  # a type Precis does not act on
        FAILED = "failed", _("Failed")  # the handler raised: see `error`; stripe_replay retries

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    stripe_created = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["status", "received_at"], name="stripe_event_status")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} {self.status}"
