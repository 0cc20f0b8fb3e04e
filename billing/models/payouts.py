"""Paying vendors: their payout settings, and monthly payouts of what their paid invoices earned."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.invoicing import CreditNote, Invoice
from billing.money import amount_field, currency_field


class VendorPayoutAccount(models.Model):
    """How Precis pays one vendor organization, and what it keeps of its invoices.

    Exists because the platform fee is negotiated per vendor (an override of
    PRECIS_PLATFORM_FEE_PERCENT, fixed on each invoice when it is issued) and because money
    leaves Precis either by Stripe Connect (an Express account the vendor onboards itself) or
    by a bank transfer that staff make and record. Its row is also what a payout run locks per
    vendor, so two runs never pay out the same invoice.
    """

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payout_account"
    )
    # Empty: the default PRECIS_PLATFORM_FEE_PERCENT applies.
    platform_fee_percent = models.DecimalField(
        _("platform fee (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )
    # The vendor's Stripe Connect (Express) account, once onboarding started.
    stripe_account_id = models.CharField(max_length=64, blank=True)
    payout_email = models.EmailField(_("payout e-mail"), blank=True)
    notes = models.TextField(_("notes"), blank=True, help_text="Staff only: bank details, terms.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_account_id"],
                condition=~Q(stripe_account_id=""),
                name="one_payout_account_per_stripe_account",
            ),
            models.CheckConstraint(
                condition=Q(platform_fee_percent__isnull=True)
                | Q(platform_fee_percent__gte=0, platform_fee_percent__lte=100),
                name="payout_fee_percent_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout account of {self.organization}"


class Payout(models.Model):
    """What Precis owes a vendor, in one currency, for the invoices paid in one calendar month
    (UTC), and how it was paid.

    Prepared as a draft from the paid invoices not yet paid out (one PayoutLine each); its
    lines and amounts never change afterwards, so the statement a vendor downloads stays true
    and a retried Stripe transfer always carries the same amount. amount = gross - fees -
    credits. Paying it debits the vendor's payable and credits cash in the ledger.
    """

    class Status(models.TextChoices):
        # Prepared: the statement is final, the money has not left Precis yet.
        DRAFT = "draft", _("Draft")
        # Paid to the vendor (paid_at, method, reference); recorded in the ledger.
        PAID = "paid", _("Paid")

    class Method(models.TextChoices):
        MANUAL = "manual", _("Bank transfer")
        STRIPE_TRANSFER = "stripe_transfer", _("Stripe transfer")

    vendor = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="payouts"
    )
    currency = currency_field()
    # The calendar month, in UTC, in which its invoices were paid: [period_start, period_end).
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # Sums of the lines: invoice totals, platform fees, the vendor's share of credit notes.
    gross = amount_field(_("gross"), default=0)
    fees = amount_field(_("platform fees"), default=0)
    credits = amount_field(_("credits"), default=0)
    # What the vendor receives.
    amount = amount_field(_("amount"), default=0)
    invoice_count = models.PositiveIntegerField(default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=24, choices=Method.choices, blank=True)
    # The bank transfer's reference, or the Stripe transfer's id.
    reference = models.CharField(_("reference"), max_length=120, blank=True)
    stripe_transfer_id = models.CharField(max_length=64, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "-pk"]
        indexes = [models.Index(fields=["vendor", "status"], name="payout_vendor_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(paid_at__isnull=False, method__gt=""),
                name="paid_payout_has_date_and_method",
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.pk} {self.amount} {self.currency}"


class PayoutLine(models.Model):
    """One paid invoice in a payout, with the figures it was paid out on.

    An invoice is paid out once (unique). The figures are copied when the payout is prepared,
    so a later credit note does not silently change a statement already sent.
    """

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="lines")
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="payout_line")
    total = amount_field(_("total"))
    platform_fee = amount_field(_("platform fee"))
    # The vendor's share of the invoice's credit notes when the payout was prepared.
    credited = amount_field(_("credited"), default=0)
    # total - platform_fee - credited
    vendor_share = amount_field(_("vendor share"))

    class Meta:
        ordering = ["payout", "pk"]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.vendor_share}"


class PayoutCredit(models.Model):
    """A credit note's share of the vendor taken off a payout, once (unique).

    Exists so that every credit note of a paid-out invoice is taken off exactly one payout:
    a note made before its invoice's payout was prepared is counted on that invoice's line
    (`on_line`); one made after comes off the vendor's next payout in that currency, as a
    deduction shown on its own, without ever making a payout negative (it waits otherwise).
    """

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="credits_taken")
    credit_note = models.OneToOneField(
        CreditNote, on_delete=models.PROTECT, related_name="payout_credit"
    )
    # The vendor's share of the note, as its ledger entries took it back (positive).
    amount = amount_field(_("amount"))
    # True: the note is on one of this payout's invoices; False: on one paid out earlier.
    on_line = models.BooleanField(default=True)

    class Meta:
        ordering = ["payout", "pk"]

    def __str__(self) -> str:
        return f"{self.credit_note_id}: {self.amount}"
