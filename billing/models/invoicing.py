"""Invoices, their lines with lineage, credit notes, and the numbering behind both."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models.outcomes import OutcomeLine, OutcomeStatement
from billing.models.plans import Metric, PlanVersion
from billing.models.subscriptions import PendingItem, Subscription
from billing.money import amount_field, currency_field, quantity_field


class DocumentSequence(models.Model):
    """The last number an issuer gave to an invoice (or a credit note).

    Numbers are taken inside the transaction that issues the document, with this row locked:
    a rolled-back issue gives its number back, so numbers have no gaps.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Invoice")
        CREDIT_NOTE = "credit_note", _("Credit note")

    issuer = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "kind"], name="one_sequence_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.issuer_id} {self.kind} {self.last_number}"


class Invoice(models.Model):
    """What a buyer owes a vendor for one subscription at one period boundary.

    Issued by the vendor through Precis: the recurring fee of the period that starts (in
    advance), the usage of the period that ended (in arrears), prorations, adjustments for late
    usage, and the settled outcomes of the period. An issued invoice is never edited: a
    correction is a credit note.
    """

    class Status(models.TextChoices):
        # Being assembled; waits here while the period's outcome statement is being verified.
        DRAFT = "draft", _("Draft")
        # Numbered, final and owed by its due date.
        ISSUED = "issued", _("Issued")
        # Settled in full (or nothing was owed).
        PAID = "paid", _("Paid")
        # Cancelled after issue: nothing is owed; the ledger is reversed.
        VOID = "void", _("Void")
        # Written off: the buyer will not pay; the ledger is reversed.
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")

    # Issuer, buyer and subscription are searched by the indexes below, which lead with them:
    # an index of each alone would only cost every insert (the close writes thousands).
    issuer = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="issued_invoices",
        db_index=False,
    )
    buyer = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="+")
    # The period this invoice closes, [period_start, period_end); equal when it only opens one.
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    statement = models.OneToOneField(
        OutcomeStatement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoice",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    sequence_number = models.PositiveIntegerField(null=True, blank=True)
    number = models.CharField(_("number"), max_length=40, blank=True)
    currency = currency_field()
    # The sum of the lines, each already rounded to the currency's minor unit.
    total = amount_field(_("total"), default=0)
    platform_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    platform_fee = amount_field(_("platform fee"), default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    issued_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=120, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Voided or written off.")
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # see invoice_closed_by
    )
    close_reason = models.CharField(max_length=300, blank=True)
    # When the buyer's billing people were emailed about it (billing.tasks.billing_notices_send),
    # and reminded once it was overdue (when no card payment was tried: dunning emails those).
    notified_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "period_end"], name="one_invoice_per_period"
            ),
            models.UniqueConstraint(
                fields=["issuer", "sequence_number"], name="invoice_number_per_issuer"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(sequence_number__isnull=False),
                name="issued_invoice_has_number",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "status"], name="invoice_buyer_status"),
            models.Index(fields=["issuer", "status"], name="invoice_issuer_status"),
            # Issued and not yet emailed: a few rows at a time, so the index stays small.
            models.Index(
                fields=["issued_at"],
                condition=models.Q(notified_at__isnull=True, issued_at__isnull=False),
                name="invoice_to_notify",
            ),
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="issued", reminded_at__isnull=True),
                name="invoice_to_remind",
            ),
            # Few invoices are closed by someone: only theirs are indexed.
            models.Index(
                fields=["closed_by"],
                condition=models.Q(closed_by__isnull=False),
                name="invoice_closed_by",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.pk}"

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == self.Status.ISSUED
            and self.due_at is not None
            and self.due_at < timezone.now()
        )

    @property
    def vendor_share(self):
        return self.total - self.platform_fee


class InvoiceLine(models.Model):
    """One amount on an invoice, rounded once, with where it came from."""

    class Kind(models.TextChoices):
        RECURRING = "recurring", _("Recurring fee")
        METERED = "metered", _("Usage")
        OUTCOME = "outcome", _("Outcome")
        PRORATION = "proration", _("Proration")
        ADJUSTMENT = "adjustment", _("Adjustment")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=200)
    metric = models.ForeignKey(
        Metric, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity = quantity_field(null=True, blank=True)
    amount = amount_field()
    # The period the line is about (the fee's period, the usage's period).
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    statement_line = models.ForeignKey(
        OutcomeLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # see invoice_line_statement_line
    )
    pending_item = models.OneToOneField(
        PendingItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # For an adjustment: the earlier invoice whose period the late usage belongs to.
    adjusts = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # see invoice_line_adjusts
    )

    class Meta:
        ordering = ["invoice", "pk"]
        # Most lines are neither outcomes nor adjustments: only those that are are indexed, so
        # the close's thousands of fee and usage lines do not fill indexes with empty keys.
        indexes = [
            models.Index(
                fields=["statement_line"],
                condition=models.Q(statement_line__isnull=False),
                name="invoice_line_statement_line",
            ),
            models.Index(
                fields=["adjusts"],
                condition=models.Q(adjusts__isnull=False),
                name="invoice_line_adjusts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class CreditNote(models.Model):
    """A correction of an issued invoice: an amount taken off what the buyer owes, with why.

    Numbered per issuer like invoices (in its own sequence) and recorded in the ledger.
    """

    issuer = models.ForeignKey("accounts.Organization", on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sequence_number = models.PositiveIntegerField()
    number = models.CharField(_("number"), max_length=40)
    amount = amount_field(_("amount"))
    currency = currency_field()
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["invoice", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "sequence_number"], name="credit_note_number_per_issuer"
            ),
        ]

    def __str__(self) -> str:
        return self.number
