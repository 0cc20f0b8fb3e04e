"""The ledger: append-only double-entry bookkeeping of every money movement Precis records."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.money import amount_field, currency_field


class AppendOnlyError(Exception):
    """An attempt to change or remove a ledger row."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The ledger is append-only: record a correcting transaction.")

    def delete(self):
        raise AppendOnlyError("The ledger is append-only: record a correcting transaction.")


class AppendOnly(models.Model):
    """Rows that are written once and then only read (the database refuses it too)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The ledger is append-only: record a correcting transaction.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The ledger is append-only: record a correcting transaction.")


class LedgerTransaction(AppendOnly):
    """One money movement (an invoice issued, a payment received), as balanced entries.

    Written by the service that moves the money, in the same database transaction; the entries
    of a transaction sum to zero in its currency. Never updated or deleted: database triggers
    refuse it (migration billing 0004); a correction is a new transaction.
    """

    class Kind(models.TextChoices):
        INVOICE_ISSUED = "invoice_issued", _("Invoice issued")
        PAYMENT = "payment", _("Payment")
        CREDIT_NOTE = "credit_note", _("Credit note")
        INVOICE_VOIDED = "invoice_voided", _("Invoice voided")
        WRITE_OFF = "write_off", _("Written off")
        PAYOUT = "payout", _("Payout")
        ADJUSTMENT = "adjustment", _("Adjustment")

    kind = models.CharField(max_length=24, choices=Kind.choices)
    # What the movement is about, e.g. "invoice:42"; one transaction per key, so a service that
    # runs twice records the movement once.
    idempotency_key = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=200)
    currency = currency_field()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(AppendOnly.Meta):
        ordering = ["-created_at", "-pk"]
        abstract = False

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.idempotency_key}"


class LedgerEntry(AppendOnly):
    """One side of a transaction: an amount on an account of an organization (or of Precis).

    Positive amounts are debits, negative amounts credits. Accounts: a buyer's receivable (what
    it owes); a vendor's payable on collection (its share of invoices issued but not yet paid:
    owed only once the buyer pays); a vendor's payable (its share of paid invoices: what Precis
    owes it); Precis's platform fees; cash.
    """

    class Account(models.TextChoices):
        RECEIVABLE = "receivable", _("Receivable")
        PAYABLE_ON_COLLECTION = "payable_on_collection", _("Payable on collection")
        PAYABLE = "payable", _("Payable")
        PLATFORM_FEES = "platform_fees", _("Platform fees")
        CASH = "cash", _("Cash")

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    account = models.CharField(max_length=24, choices=Account.choices)
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose account; empty for Precis's own (platform fees, cash).",
    )
    amount = amount_field()
    currency = currency_field()

    class Meta(AppendOnly.Meta):
        abstract = False
        ordering = ["transaction", "pk"]
        indexes = [
            models.Index(fields=["account", "organization", "currency"], name="ledger_balance"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount} {self.currency}"
