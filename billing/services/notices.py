"""Which invoices and outcome statements the buyer has not been told about yet, and which
invoices paid by bank transfer are overdue and not yet reminded.

The period close issues thousands of invoices at once and must not send email from inside
its transactions; a beat task (billing.tasks.billing_notices_send) claims what is new here, a
batch at a time, and emails each once its claim has committed.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef

from billing.models import Invoice, OutcomeStatement, Payment

BATCH = 500


@dataclass(frozen=True)
class Claimed:
    invoices: list[int]  # issued, not announced yet
    statements: list[int]  # opened for verification, not announced yet
    overdue: list[int]  # past due, no card payment tried, not reminded yet

    def full(self, batch: int) -> bool:
        return max(len(self.invoices), len(self.statements), len(self.overdue)) >= batch


@transaction.atomic
def notices_claim(*, now: datetime, batch: int = BATCH) -> Claimed:
    """Mark up to `batch` rows of each kind as notified (or reminded); their ids.

    Rows another process is claiming are skipped (PostgreSQL), so each is claimed once.
    """
    invoices = list(
        Invoice.objects.select_for_update(skip_locked=True)
        .filter(notified_at__isnull=True, issued_at__isnull=False)
        .order_by("issued_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    statements = list(
        OutcomeStatement.objects.select_for_update(skip_locked=True)
        .filter(notified_at__isnull=True)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    overdue = list(
        Invoice.objects.select_for_update(skip_locked=True)
        .filter(
            status=Invoice.Status.ISSUED,
            reminded_at__isnull=True,
            due_at__lte=now,
        )
        .exclude(Exists(Payment.objects.filter(invoice=OuterRef("pk"))))
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    Invoice.objects.filter(pk__any=invoices).update(notified_at=now)
    OutcomeStatement.objects.filter(pk__any=statements).update(notified_at=now)
    Invoice.objects.filter(pk__any=overdue).update(reminded_at=now)
    return Claimed(invoices, statements, overdue)
