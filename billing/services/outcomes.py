"""Outcome verification: baselines both sides agree on, and the buyer's check of each claim.

A statement's line is accepted or disputed by the buyer; a dispute is answered by the vendor
with another quantity or evidence; the buyer accepts the answer, or Precis staff decide. Lines
nobody disputed settle at their claim when the window ends. When every line is settled the
statement settles, its lines go onto the period's invoice, and the invoice is issued, all in
one transaction. Every step is kept in the line's history.
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import rating
from billing.models import (
    Baseline,
    Invoice,
    InvoiceLine,
    Metric,
    OutcomeLine,
    OutcomeLineEvent,
    OutcomeStatement,
    Subscription,
)
from billing.money import QUANTITY_PLACES
from billing.services import invoicing
from marketplace.accounts.models import User
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import Conflict, ServiceError

MAX_TEXT = 2000


def _quantity(value) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ServiceError(_("A quantity is a number of zero or more."))
    if value != value.quantize(Decimal(1).scaleb(-QUANTITY_PLACES)):
        raise ServiceError(
            _("A quantity has at most %(places)s decimals.") % {"places": QUANTITY_PLACES}
        )
    return value


def _text(value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(message)
    if len(value) > MAX_TEXT:
        raise ServiceError(_("Keep it to %(n)s characters at most.") % {"n": MAX_TEXT})
    return value


def _is_buyer(actor: User, subscription: Subscription) -> bool:
    return has_permission(actor, subscription.buyer, Permission.MANAGE_BILLING)


def _is_vendor(actor: User, subscription: Subscription) -> bool:
    vendor = subscription.plan_version.plan.listing.vendor
    return has_permission(actor, vendor, Permission.MANAGE_BILLING)


def _buyers_only() -> ServiceError:
    return _forbidden(_("Only the buyer's owners, admins and billing members can verify outcomes."))


def _forbidden(message: str) -> ServiceError:
    return ServiceError(message, code="forbidden", status_code=403)


# --- Baselines ----------------------------------------------------------------------------------


@transaction.atomic
def baseline_propose(
    *,
    actor: User,
    subscription: Subscription,
    metric: Metric,
    value: Decimal,
    effective_from: datetime,
    note: str = "",
    now: datetime | None = None,
) -> Baseline:
    """Either side proposes a baseline for periods starting at or after `effective_from`; it
    applies once the other side agrees, and only to periods that start after the agreement."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    by_vendor = _is_vendor(actor, subscription)
    if not by_vendor and not _is_buyer(actor, subscription):
        raise _forbidden(
            _(
                "Only owners, admins and billing members of the buyer or the vendor "
                "can propose this."
            )
        )
    charged = subscription.plan_version.outcome_charges.filter(
        metric=metric, method="savings_share"
    )
    if not charged.exists():
        raise ServiceError(_("This plan charges no share of savings on %(m)s.") % {"m": metric})
    if effective_from <= now:
        raise ServiceError(_("A baseline applies to periods that have not started yet."))
    last = subscription.baselines.filter(metric=metric).order_by("-number").first()
    return Baseline.objects.create(
        subscription=subscription,
        metric=metric,
        number=(last.number + 1) if last else 1,
        value=_quantity(value),
        effective_from=effective_from,
        note=(note or "").strip()[:300],
        proposed_by=actor,
        proposed_by_vendor=by_vendor,
        proposed_at=now,
    )


@transaction.atomic
def baseline_agree(*, actor: User, baseline: Baseline, now: datetime | None = None) -> Baseline:
    """The other side agrees; too late once the period it was meant for has started."""
    now = now or timezone.now()
    baseline = (
        Baseline.objects.select_for_update().select_related("subscription").get(pk=baseline.pk)
    )
    if baseline.is_agreed:
        return baseline
    subscription = baseline.subscription
    other = _is_buyer if baseline.proposed_by_vendor else _is_vendor
    if not other(actor, subscription):
        raise _forbidden(_("The other side agrees to a baseline, not the side that proposed it."))
    if baseline.effective_from <= now:
        raise Conflict(
            _("The period this baseline was for has started: propose it for a later one.")
        )
    baseline.agreed_by = actor
    baseline.agreed_at = now
    baseline.save()
    return baseline


# --- Statement lines ------------------------------------------------------------------------------


def _locked_line(line: OutcomeLine) -> OutcomeLine:
    line = OutcomeLine.objects.select_related("statement").get(pk=line.pk)
    # Subscription first, as period close locks it: one lock order, no deadlocks.
    Subscription.objects.select_for_update().filter(pk=line.statement.subscription_id).first()
    return (
        OutcomeLine.objects.select_for_update(of=("self",))
        .select_related(
            "statement__subscription__buyer",
            "statement__subscription__plan_version__plan__listing__vendor",
            "charge__metric",
        )
        .get(pk=line.pk)
    )


def _log(line: OutcomeLine, action: str, actor: User | None, now: datetime, **fields) -> None:
    OutcomeLineEvent.objects.create(line=line, action=action, actor=actor, created_at=now, **fields)


def _tell_the_other_side(line: OutcomeLine, action: str) -> None:
    """A dispute is emailed to the vendor, an answer to the buyer, once this commits."""
    from billing import tasks  # tasks import the services

    transaction.on_commit(lambda: tasks.outcome_line_email.delay(line.pk, action))


def _settle_line(line: OutcomeLine, quantity: Decimal, resolution: str, now: datetime) -> None:
    currency = line.statement.subscription.plan_version.currency
    rated = rating.outcome_line(
        line.charge, quantity, baseline=line.baseline_value, currency=currency
    )
    line.status = OutcomeLine.Status.SETTLED
    line.resolution = resolution
    line.settled_quantity = quantity
    line.settled_amount = rated.amount.amount
    line.settled_at = now
    line.save()


@transaction.atomic
def outcome_line_accept(*, actor: User, line: OutcomeLine, now: datetime | None = None):
    """The buyer accepts the claim, or the vendor's answer to a dispute."""
    now = now or timezone.now()
    line = _locked_line(line)
    subscription = line.statement.subscription
    if not _is_buyer(actor, subscription):
        raise _forbidden(
            _("Only the buyer's owners, admins and billing members can verify outcomes.")
        )
    if line.status == OutcomeLine.Status.OPEN:
        _settle_line(line, line.measured, OutcomeLine.Resolution.ACCEPTED, now)
        _log(line, OutcomeLineEvent.Action.ACCEPTED, actor, now, amount=line.settled_amount)
    elif line.status == OutcomeLine.Status.ANSWERED:
        _settle_line(line, line.answer_quantity, OutcomeLine.Resolution.AGREED, now)
        _log(
            line,
            OutcomeLineEvent.Action.ANSWER_ACCEPTED,
            actor,
            now,
            quantity=line.settled_quantity,
            amount=line.settled_amount,
        )
    else:
        raise Conflict(_("This line is not waiting for the buyer."))
    statement_settle_if_done(statement=line.statement, now=now)
    return line


@transaction.atomic
def outcome_line_dispute(
    *, actor: User, line: OutcomeLine, reason: str, now: datetime | None = None
) -> OutcomeLine:
    """The buyer disputes the claim (within the window) or the vendor's answer (any time)."""
    now = now or timezone.now()
    line = _locked_line(line)
    if not _is_buyer(actor, line.statement.subscription):
        raise _forbidden(
            _("Only the buyer's owners, admins and billing members can verify outcomes.")
        )
    reason = _text(reason, _("Say what is wrong with this figure."))
    if line.status == OutcomeLine.Status.OPEN and line.statement.window_ends_at <= now:
        raise Conflict(_("The time to verify this statement has ended."))
    if line.status not in (OutcomeLine.Status.OPEN, OutcomeLine.Status.ANSWERED):
        raise Conflict(_("This line cannot be disputed now."))
    line.status = OutcomeLine.Status.DISPUTED
    line.dispute_reason = reason
    line.save()
    _log(line, OutcomeLineEvent.Action.DISPUTED, actor, now, note=reason)
    _tell_the_other_side(line, OutcomeLineEvent.Action.DISPUTED)
    return line


@transaction.atomic
def outcome_line_answer(
    *,
    actor: User,
    line: OutcomeLine,
    note: str,
    quantity: Decimal | None = None,
    now: datetime | None = None,
) -> OutcomeLine:
    """The vendor answers a dispute: another quantity (rated again, floor and cap included),
    or the same one with evidence."""
    now = now or timezone.now()
    line = _locked_line(line)
    if not _is_vendor(actor, line.statement.subscription):
        raise _forbidden(
            _("Only the vendor's owners, admins and billing members can answer a dispute.")
        )
    if line.status != OutcomeLine.Status.DISPUTED:
        raise Conflict(_("Only a disputed line can be answered."))
    note = _text(note, _("Explain the figure: what was measured, and how."))
    quantity = line.measured if quantity is None else _quantity(quantity)
    line.status = OutcomeLine.Status.ANSWERED
    line.answer_quantity = quantity
    line.answer_note = note
    line.save()
    currency = line.statement.subscription.plan_version.currency
    amount = rating.outcome_line(
        line.charge, quantity, baseline=line.baseline_value, currency=currency
    ).amount.amount
    _log(
        line,
        OutcomeLineEvent.Action.ANSWERED,
        actor,
        now,
        note=note,
        quantity=quantity,
        amount=amount,
    )
    _tell_the_other_side(line, OutcomeLineEvent.Action.ANSWERED)
    return line


@transaction.atomic
def outcome_line_decide(
    *,
    actor: User,
    line: OutcomeLine,
    quantity: Decimal,
    note: str,
    now: datetime | None = None,
) -> OutcomeLine:
    """Precis staff settle a dispute the two sides could not."""
    now = now or timezone.now()
    if not actor.is_staff:
        raise _forbidden(_("Only Precis staff can decide a dispute."))
    line = _locked_line(line)
    if line.status not in (OutcomeLine.Status.DISPUTED, OutcomeLine.Status.ANSWERED):
        raise Conflict(_("Only a disputed line can be decided."))
    note = _text(note, _("Give the reason for the decision."))
    _settle_line(line, _quantity(quantity), OutcomeLine.Resolution.DECIDED, now)
    _log(
        line,
        OutcomeLineEvent.Action.DECIDED,
        actor,
        now,
        note=note,
        quantity=line.settled_quantity,
        amount=line.settled_amount,
    )
    statement_settle_if_done(statement=line.statement, now=now)
    return line


# --- Settling -------------------------------------------------------------------------------------


def statement_settle_if_done(*, statement: OutcomeStatement, now: datetime) -> bool:
    """Settle a statement whose lines are all settled: its lines join the period's invoice,
    which is issued. The caller holds the subscription's lock."""
    if statement.status == OutcomeStatement.Status.SETTLED:
        return False
    lines = list(statement.lines.select_related("metric"))
    if any(line.status != OutcomeLine.Status.SETTLED for line in lines):
        return False
    statement.status = OutcomeStatement.Status.SETTLED
    statement.settled_at = now
    statement.save()
    invoice = (
        Invoice.objects.select_related("issuer", "buyer", "plan_version")
        .filter(statement=statement)
        .first()
    )
    if invoice is None or invoice.status != Invoice.Status.DRAFT:
        return True
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            kind=InvoiceLine.Kind.OUTCOME,
            description=line.metric.name,
            metric=line.metric,
            quantity=line.settled_quantity,
            amount=line.settled_amount,
            period_start=statement.period_start,
            period_end=statement.period_end,
            statement_line=line,
        )
        for line in lines
    )
    invoicing.invoices_issue(invoices=[invoice], now=now)
    return True


def statements_settle_due(*, now: datetime) -> int:
    """Settle the undisputed lines of statements whose window ended; settle the statements
    that are then complete and issue their invoices. Returns how many settled."""
    due = OutcomeStatement.objects.filter(
        status=OutcomeStatement.Status.OPEN, window_ends_at__lte=now
    ).values_list("pk", "subscription_id")
    settled = 0
    for statement_id, subscription_id in due:
        with transaction.atomic():
            Subscription.objects.select_for_update().filter(pk=subscription_id).first()
            statement = OutcomeStatement.objects.get(pk=statement_id)
            lines = statement.lines.filter(status=OutcomeLine.Status.OPEN).select_related(
                "charge__metric", "statement__subscription__plan_version"
            )
            for line in lines:
                _settle_line(line, line.measured, OutcomeLine.Resolution.UNDISPUTED, now)
                _log(line, OutcomeLineEvent.Action.SETTLED, None, now, amount=line.settled_amount)
            settled += statement_settle_if_done(statement=statement, now=now)
    return settled
