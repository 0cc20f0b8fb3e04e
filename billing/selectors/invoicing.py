"""Reads of invoices and outcome statements: who may see which, and the evidence behind a line.

A buyer's members see the invoices and statements of their organization; a vendor's members see
the ones their organization issued. Both go through these querysets, so a view never widens it.
"""

from datetime import datetime

from django.db.models import Q, QuerySet

from billing.models import (
    Invoice,
    OutcomeLine,
    OutcomeStatement,
    UsageEvent,
)
from marketplace.accounts.models import Organization, User


def _member_of(user: User, path: str) -> Q:
    return Q(**{f"{path}__memberships__user": user})


def invoices_for(user: User) -> QuerySet[Invoice]:
    """Invoices the user may read: received by or issued by one of their organizations.
    Drafts are shown too (a draft waiting for outcome verification says so)."""
    if not user.is_authenticated:
        return Invoice.objects.none()
    visible = Invoice.objects.filter(
        pk__in=Invoice.objects.filter(
            _member_of(user, "buyer") | _member_of(user, "issuer")
        ).values("pk")
    )
    return visible.select_related(
        "buyer", "issuer", "plan_version__plan__listing", "statement"
    ).order_by("-period_end", "-pk")


def invoice_detail(user: User, pk: int) -> Invoice:
    """One visible invoice with its lines and credit notes loaded (DoesNotExist otherwise)."""
    return invoices_for(user).prefetch_related("lines__metric", "credit_notes").get(pk=pk)


def statements_for(user: User) -> QuerySet[OutcomeStatement]:
    """Outcome statements of the user's organizations, as buyer or as vendor."""
    if not user.is_authenticated:
        return OutcomeStatement.objects.none()
    buyer = _member_of(user, "subscription__buyer")
    vendor = _member_of(user, "subscription__plan_version__plan__listing__vendor")
    visible = OutcomeStatement.objects.filter(
        pk__in=OutcomeStatement.objects.filter(buyer | vendor).values("pk")
    )
    return visible.select_related(
        "subscription__buyer", "subscription__plan_version__plan__listing__vendor"
    ).order_by("-period_end", "-pk")


def statement_detail(user: User, pk: int) -> OutcomeStatement:
    return statements_for(user).prefetch_related("lines__metric", "lines__events__actor").get(pk=pk)


def lines_awaiting_buyer(organization: Organization) -> QuerySet[OutcomeLine]:
    """Lines the buyer should look at: open ones, and answers to its disputes."""
    return OutcomeLine.objects.filter(
        statement__subscription__buyer=organization,
        status__in=[OutcomeLine.Status.OPEN, OutcomeLine.Status.ANSWERED],
    ).select_related("statement", "metric")


def disputes_awaiting_vendor(organization: Organization) -> QuerySet[OutcomeLine]:
    """Disputed lines of statements on the vendor's listings, waiting for its answer."""
    return OutcomeLine.objects.filter(
        statement__subscription__plan_version__plan__listing__vendor=organization,
        status=OutcomeLine.Status.DISPUTED,
    ).select_related("statement__subscription__buyer", "metric")


def line_events(line: OutcomeLine) -> QuerySet[UsageEvent]:
    """The telemetry behind a statement line: its metric's events in the statement's period,
    oldest first (paginate it: a month can hold many)."""
    statement = line.statement
    return UsageEvent.objects.filter(
        subscription_id=statement.subscription_id,
        metric_id=line.metric_id,
        occurred_at__gte=statement.period_start,
        occurred_at__lt=statement.period_end,
    ).order_by("occurred_at", "client_id")


def overdue(invoices: QuerySet[Invoice], now: datetime) -> QuerySet[Invoice]:
    return invoices.filter(status=Invoice.Status.ISSUED, due_at__lt=now)
