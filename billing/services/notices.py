"""Which invoices and outcome statements the buyer has not been told about yet.

The period close issues thousands of invoices at once and must not send email from inside
its transactions; a beat task (billing.tasks.billing_notices_send) claims what is new here, a
batch at a time, and emails each once its claim has committed.
"""

from datetime import datetime

from django.db import transaction

from billing.models import Invoice, OutcomeStatement

BATCH = 500


@transaction.atomic
def notices_claim(*, now: datetime, batch: int = BATCH) -> tuple[list[int], list[int]]:
    """Mark up to `batch` issued invoices and `batch` new statements as notified; their ids.

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
    Invoice.objects.filter(pk__any=invoices).update(notified_at=now)
    OutcomeStatement.objects.filter(pk__any=statements).update(notified_at=now)
    return invoices, statements
