"""Billing pages: the buyer's dashboard, and the invoice and outcome-statement pages that the
buyer's members and the issuing vendor's members share.

Who sees an invoice or a statement is decided by billing.selectors (members of the buyer or of
the vendor; anyone else gets 404). Precis staff see every one, as they record bank transfers,
correct invoices and decide disputes from these pages. Who may do what is decided by billing's
services: each form posts to a small view that calls one service and redirects with a message,
or shows the service's refusal on the form.

Dates are the buyer's: periods start and end at midnight in its time zone, so a period is shown
as its first and last day there.
"""

import csv
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST

from billing import selectors
from billing.models import (
    Baseline,
    BillingAccount,
    Invoice,
    InvoiceLine,
    Metric,
    OutcomeCharge,
    OutcomeLine,
    OutcomeLineEvent,
    OutcomeStatement,
    Subscription,
)
from billing.money import AMOUNT_DIGITS, QUANTITY_DIGITS, QUANTITY_PLACES, round_minor
from billing.periods import local_date, local_midnight
from billing.selectors import invoicing as documents
from billing.services import invoicing, outcomes, payments
from marketplace.accounts.models import Organization
from marketplace.accounts.policies import Permission, has_permission, organizations_for
from marketplace.errors import ServiceError
from marketplace.storefront.charts import PeriodChart, period_chart
from marketplace.storefront.invoice_pdf import invoice_pdf

INVOICES_PER_PAGE = 25
EVENTS_PER_PAGE = 50
RECENT_PAID = 5
# Periods the dashboard charts: the current one and those before it.
CHART_PERIODS = 6
LIVE = (
    Subscription.Status.TRIALING,
    Subscription.Status.ACTIVE,
    Subscription.Status.PAST_DUE,
    Subscription.Status.PAUSED,
)
INVOICE_RELATED = ("buyer", "issuer", "plan_version__plan__listing", "statement")
STATEMENT_RELATED = (
    "subscription__buyer",
    "subscription__plan_version__plan__listing__vendor",
)
# The list's status filter: its value in the address, and the statuses it shows.
STATUS_FILTERS = {
    "open": [Invoice.Status.ISSUED],
    "overdue": [Invoice.Status.ISSUED],
    "draft": [Invoice.Status.DRAFT],
    "paid": [Invoice.Status.PAID],
    "closed": [Invoice.Status.VOID, Invoice.Status.UNCOLLECTIBLE],
}
LINE_GROUPS = [
    (InvoiceLine.Kind.RECURRING, gettext_lazy("Fixed fees")),
    (InvoiceLine.Kind.METERED, gettext_lazy("Usage")),
    (InvoiceLine.Kind.OUTCOME, gettext_lazy("Verified outcomes")),
    (InvoiceLine.Kind.PRORATION, gettext_lazy("Plan changes")),
    (InvoiceLine.Kind.ADJUSTMENT, gettext_lazy("Late usage of earlier periods")),
]


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A billing period as the buyer reads it: its first and last day in its time zone."""

    first: date
    last: date


def period_of(start: datetime | None, end: datetime | None, tz: zoneinfo.ZoneInfo):
    """The days of [start, end), or None when there are none (an invoice that only opens one)."""
    if start is None or end is None or end <= start:
        return None
    return Period(local_date(start, tz), local_date(end - timedelta(microseconds=1), tz))


def _tz(organization: Organization) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(organization.time_zone)


def _organization(request: HttpRequest) -> Organization | None:
    """The organization the person acts for (chosen in the menu, as on the subscription pages)."""
    return request.organization or None


def _invoice(request: HttpRequest, pk: int) -> Invoice:
    """An invoice of one of the person's organizations, with its lines and credit notes; any
    invoice for staff (billing's selector scopes to memberships; staff record payments and
    corrections here); 404 for anyone else."""
    try:
        return documents.invoice_detail(request.user, pk)
    except Invoice.DoesNotExist:
        if not request.user.is_staff:
            raise Http404(_("No such invoice.")) from None
    return get_object_or_404(
        Invoice.objects.select_related(*INVOICE_RELATED).prefetch_related(
            "lines__metric", "credit_notes"
        ),
        pk=pk,
    )


def _statement(request: HttpRequest, pk: int) -> OutcomeStatement:
    """A statement of one of the person's organizations (any for staff) with its lines, their
    history and their baselines; 404 for anyone else."""
    try:
        statement = documents.statement_detail(request.user, pk)
    except OutcomeStatement.DoesNotExist:
        if not request.user.is_staff:
            raise Http404(_("No such statement.")) from None
        statement = get_object_or_404(
            OutcomeStatement.objects.select_related(*STATEMENT_RELATED).prefetch_related(
                "lines__metric", "lines__events__actor"
            ),
            pk=pk,
        )
    prefetch_related_objects(list(statement.lines.all()), "baseline__agreed_by")
    return statement


def _sees_fee(request: HttpRequest, invoice: Invoice, my_organizations: set[int]) -> bool:
    """The platform fee is between Precis and the vendor: its members and staff see it."""
    return request.user.is_staff or invoice.issuer_id in my_organizations


def _my_organizations(request: HttpRequest) -> set[int]:
    return set(organizations_for(request.user).values_list("pk", flat=True))


def _plain_amount(amount: Decimal, currency: str) -> str:
    """An amount for a file: a plain decimal string in the currency's minor unit."""
    return str(round_minor(amount, currency))


def _cell(text: str) -> str:
    """Text for a spreadsheet cell: never read as a formula (names are typed by people)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _plain_quantity(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _file_name(invoice: Invoice) -> str:
    return invoice.number or f"draft-{invoice.pk}"


@dataclass(frozen=True)
class InvoiceRow:
    invoice: Invoice
    period: Period | None

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceRow":
        return cls(invoice, period_of(invoice.period_start, invoice.period_end, _tz(invoice.buyer)))


# --- Dashboard ----------------------------------------------------------------------------------


class BaselineProposeForm(forms.Form):
    """A baseline the buyer proposes for one share-of-savings charge of a subscription."""

    target = forms.ChoiceField(label=gettext_lazy("Subscription and measure"))
    value = forms.DecimalField(
        label=gettext_lazy("Baseline per period"),
        min_value=Decimal(0),
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        help_text=gettext_lazy("What it would measure in a period without the solution."),
    )
    effective_from = forms.DateField(
        label=gettext_lazy("For periods from"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "It applies to the periods starting on or after this day, once the vendor agrees "
            "before they start."
        ),
    )
    note = forms.CharField(
        label=gettext_lazy("How it was measured"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, targets: list["SavingsTarget"], **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = {target.key: target for target in targets}
        self.fields["target"].choices = [(target.key, target.label) for target in targets]
        if targets:
            self.fields["effective_from"].initial = targets[0].next_period


@dataclass(frozen=True)
class SavingsTarget:
    """A subscription's share-of-savings charge: what a baseline can be proposed for."""

    subscription: Subscription
    metric: Metric
    next_period: date

    @property
    def key(self) -> str:
        return f"{self.subscription.pk}:{self.metric.pk}"

    @property
    def label(self) -> str:
        return f"{self.subscription.plan_version.plan.listing.name} · {self.metric.name}"


@dataclass(frozen=True)
class BaselineRow:
    baseline: Baseline
    waiting_for_us: bool  # proposed by the vendor, still open for this buyer's agreement
    lapsed: bool  # never agreed before the period it was meant for


@dataclass
class SubscriptionCharts:
    subscription: Subscription
    usage: list[PeriodChart] = field(default_factory=list)
    outcomes: list[PeriodChart] = field(default_factory=list)


def _chart_periods(
    subscriptions: list[Subscription], received: QuerySet[Invoice]
) -> dict[int, list[tuple[datetime, datetime]]]:
    """Per subscription, the periods to chart: invoiced ones and the current one, newest last."""
    periods: dict[int, set[tuple[datetime, datetime]]] = defaultdict(set)
    for subscription_id, start, end in received.filter(
        subscription__in=subscriptions, period_start__lt=F("period_end")
    ).values_list("subscription_id", "period_start", "period_end"):
        periods[subscription_id].add((start, end))
    for subscription in subscriptions:
        periods[subscription.pk].add(
            (subscription.current_period_start, subscription.current_period_end)
        )
    return {pk: sorted(found)[-CHART_PERIODS:] for pk, found in periods.items()}


def _charts(
    request: HttpRequest, organization: Organization, subscriptions: list[Subscription], received
) -> list[SubscriptionCharts]:
    """Usage per period, and outcomes against their baseline per period, of each subscription.

    Totals of every period of every subscription come from one metering query; an outcome's
    figure for a closed period is the one its statement measured, with the baseline it used.
    """
    now = timezone.now()
    periods = _chart_periods(subscriptions, received)
    windows = [
        selectors.UsageWindow(subscription, start, min(end, now))
        for subscription in subscriptions
        for start, end in periods.get(subscription.pk, [])
    ]
    listing_ids = {s.plan_version.plan.listing_id for s in subscriptions}
    metrics: dict[int, list[Metric]] = {listing_id: [] for listing_id in listing_ids}
    for metric in Metric.objects.filter(listing_id__in=listing_ids).order_by("name"):
        metrics[metric.listing_id].append(metric)
    totals = dict(
        zip(
            ((w.subscription.pk, w.start) for w in windows),
            selectors.usage_totals_many(windows, metrics),
            strict=True,
        )
    )
    claimed: dict[tuple[int, datetime, int], OutcomeLine] = {}
    statements = (
        documents.statements_for(request.user)
        .filter(subscription__in=subscriptions)
        .prefetch_related("lines")
    )
    for statement in statements:
        for line in statement.lines.all():
            claimed[(statement.subscription_id, statement.period_start, line.metric_id)] = line
    result = []
    tz = _tz(organization)
    for subscription in subscriptions:
        charts = SubscriptionCharts(subscription)
        for metric in metrics[subscription.plan_version.plan.listing_id]:
            values = []
            for start, end in periods.get(subscription.pk, []):
                days = period_of(start, end, tz)
                line = claimed.get((subscription.pk, start, metric.pk))
                if line is not None:
                    values.append((days.first, days.last, line.measured, line.baseline_value))
                else:
                    total = totals[(subscription.pk, start)].get(metric.code, Decimal(0))
                    values.append((days.first, days.last, total, None))
            chart = period_chart(metric, values)
            if not (chart.has_values or chart.has_baseline):
                continue  # a measure this subscription never used (another plan's, say)
            target = charts.outcomes if metric.kind == Metric.Kind.OUTCOME else charts.usage
            target.append(chart)
        result.append(charts)
    return result


def _savings_targets(subscriptions: list[Subscription]) -> list[SavingsTarget]:
    by_version: dict[int, list[Metric]] = defaultdict(list)
    for charge in OutcomeCharge.objects.filter(
        version_id__in={s.plan_version_id for s in subscriptions},
        method=OutcomeCharge.Method.SAVINGS_SHARE,
    ).select_related("metric"):
        by_version[charge.version_id].append(charge.metric)
    return [
        SavingsTarget(
            subscription,
            metric,
            local_date(subscription.current_period_end, _tz(subscription.buyer)),
        )
        for subscription in subscriptions
        for metric in by_version.get(subscription.plan_version_id, [])
    ]


def _baseline_rows(subscriptions: list[Subscription], now: datetime) -> list[BaselineRow]:
    baselines = (
        Baseline.objects.filter(subscription__in=subscriptions)
        .select_related(
            "subscription__plan_version__plan__listing", "metric", "proposed_by", "agreed_by"
        )
        .order_by("-proposed_at", "-pk")
    )
    return [
        BaselineRow(
            baseline,
            waiting_for_us=(
                not baseline.is_agreed
                and baseline.proposed_by_vendor
                and baseline.effective_from > now
            ),
            lapsed=not baseline.is_agreed and baseline.effective_from <= now,
        )
        for baseline in baselines
    ]


def _dashboard(
    request: HttpRequest, *, propose_form: BaselineProposeForm | None = None, status: int = 200
) -> HttpResponse:
    organization = _organization(request)
    if organization is None:
        return render(request, "storefront/billing/dashboard.html", {"organization": None})
    now = timezone.now()
    received = documents.invoices_for(request.user).filter(buyer_id=organization.pk)
    open_invoices = list(received.filter(status=Invoice.Status.ISSUED).order_by("due_at", "pk"))
    drafts = list(received.filter(status=Invoice.Status.DRAFT))
    paid = list(received.filter(status=Invoice.Status.PAID).order_by("-paid_at")[:RECENT_PAID])
    currencies = (
        received.exclude(status=Invoice.Status.DRAFT)
        .order_by("currency")
        .values_list("currency", flat=True)
        .distinct()
    )
    balances = [
        (
            currency,
            selectors.ledger_balance("receivable", organization=organization, currency=currency),
        )
        for currency in currencies
    ]
    to_verify = list(
        documents.lines_awaiting_buyer(organization)
        .select_related("statement__subscription__plan_version__plan__listing")
        .order_by("statement__window_ends_at", "pk")
    )
    subscriptions = list(
        selectors.subscriptions_for(request.user)
        .filter(buyer_id=organization.pk, status__in=LIVE)
        .order_by("started_at", "pk")
    )
    targets = _savings_targets(subscriptions)
    if propose_form is None and targets:
        propose_form = BaselineProposeForm(prefix="baseline", targets=targets)
    can_manage = has_permission(request.user, organization, Permission.MANAGE_BILLING)
    tz = _tz(organization)
    account = (
        BillingAccount.objects.filter(organization=organization)
        .select_related("default_card")
        .first()
    )
    return render(
        request,
        "storefront/billing/dashboard.html",
        {
            "organization": organization,
            "default_card": account.default_card if account else None,
            "open_invoices": [InvoiceRow.of(invoice) for invoice in open_invoices],
            "overdue_count": sum(1 for invoice in open_invoices if invoice.is_overdue),
            "drafts": [InvoiceRow.of(invoice) for invoice in drafts],
            "paid": [InvoiceRow.of(invoice) for invoice in paid],
            "balances": balances,
            "to_verify": [
                (line, period_of(line.statement.period_start, line.statement.period_end, tz))
                for line in to_verify
            ],
            "charts": _charts(request, organization, subscriptions, received),
            "baselines": _baseline_rows([t.subscription for t in targets], now) if targets else [],
            "propose_form": propose_form if can_manage else None,
            "can_manage": can_manage,
        },
        status=status,
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return _dashboard(request)


@login_required
@require_POST
def baseline_propose(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    if organization is None:
        raise Http404(_("No organization."))
    subscriptions = list(
        selectors.subscriptions_for(request.user).filter(buyer_id=organization.pk, status__in=LIVE)
    )
    form = BaselineProposeForm(
        request.POST, prefix="baseline", targets=_savings_targets(subscriptions)
    )
    if form.is_valid():
        target = form.targets[form.cleaned_data["target"]]
        try:
            baseline = outcomes.baseline_propose(
                actor=request.user,
                subscription=target.subscription,
                metric=target.metric,
                value=form.cleaned_data["value"],
                effective_from=local_midnight(
                    form.cleaned_data["effective_from"], _tz(target.subscription.buyer)
                ),
                note=form.cleaned_data["note"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            return _dashboard(request, propose_form=form, status=exc.status_code)
        messages.success(
            request,
            _("Baseline version %(number)s proposed. It applies once the vendor agrees.")
            % {"number": baseline.number},
        )
        return redirect(reverse("billing:dashboard") + "#baselines")
    return _dashboard(request, propose_form=form, status=400)


@login_required
@require_POST
def baseline_agree(request: HttpRequest, pk: int) -> HttpResponse:
    baseline = get_object_or_404(
        Baseline.objects.filter(subscription__in=selectors.subscriptions_for(request.user)),
        pk=pk,
    )
    try:
        outcomes.baseline_agree(actor=request.user, baseline=baseline)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Baseline version %(number)s agreed: it applies to the periods it was proposed for.")
            % {"number": baseline.number},
        )
    return redirect(reverse("billing:dashboard") + "#baselines")


# --- Invoices -----------------------------------------------------------------------------------


def _listed(request: HttpRequest, organization: Organization | None, status: str):
    """The invoices of the organization the person acts for: received or issued."""
    if organization is None:
        return Invoice.objects.none()
    invoices = documents.invoices_for(request.user).filter(
        Q(buyer_id=organization.pk) | Q(issuer_id=organization.pk)
    )
    if status in STATUS_FILTERS:
        invoices = invoices.filter(status__in=STATUS_FILTERS[status])
    if status == "overdue":
        invoices = documents.overdue(invoices, timezone.now())
    return invoices


def _status(request: HttpRequest) -> str:
    status = request.GET.get("status", "")
    return status if status in STATUS_FILTERS else ""


@login_required
def invoice_list(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    status = _status(request)
    page = Paginator(_listed(request, organization, status), INVOICES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [InvoiceRow.of(invoice) for invoice in page.object_list]
    return render(
        request,
        "storefront/billing/invoice_list.html",
        {
            "organization": organization,
            "rows": rows,
            "page_obj": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "status": status,
            "filters": [
                ("", _("All")),
                ("open", pgettext("invoice status", "Open")),
                ("overdue", _("Overdue")),
                ("draft", _("Being verified")),
                ("paid", pgettext("invoice status", "Paid")),
                ("closed", _("Void or written off")),
            ],
        },
    )


@login_required
def invoices_csv(request: HttpRequest) -> HttpResponse:
    """The list (with its status filter) as CSV: one row per invoice, amounts as plain decimals.
    The platform fee is filled in only where the person may see it."""
    organization = _organization(request)
    mine = _my_organizations(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    writer.writerow(
        [
            "number",
            "status",
            "issuer",
            "buyer",
            "listing",
            "period_first_day",
            "period_last_day",
            "issued_at",
            "due_at",
            "paid_at",
            "currency",
            "total",
            "platform_fee",
        ]
    )
    for invoice in _listed(request, organization, _status(request)):
        tz = _tz(invoice.buyer)
        period = period_of(invoice.period_start, invoice.period_end, tz)
        writer.writerow(
            [
                invoice.number,
                invoice.status,
                _cell(invoice.issuer.name),
                _cell(invoice.buyer.name),
                _cell(invoice.plan_version.plan.listing.name),
                period.first.isoformat() if period else "",
                period.last.isoformat() if period else "",
                *(
                    moment.astimezone(tz).isoformat() if moment else ""
                    for moment in (invoice.issued_at, invoice.due_at, invoice.paid_at)
                ),
                invoice.currency,
                _plain_amount(invoice.total, invoice.currency),
                _plain_amount(invoice.platform_fee, invoice.currency)
                if _sees_fee(request, invoice, mine)
                else "",
            ]
        )
    slug = organization.slug if organization else "none"
    return _attachment(response, f"invoices-{slug}.csv")


@dataclass(frozen=True)
class LineRow:
    line: InvoiceLine
    period: Period | None


@dataclass(frozen=True)
class LineGroup:
    kind: str
    title: str
    rows: list[LineRow]
    total: Decimal


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Bank transfer reference"),
        max_length=120,
        help_text=gettext_lazy("As it appears on the bank statement."),
    )


class CloseForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Close as"),
        choices=[
            (Invoice.Status.VOID, gettext_lazy("Void: it was never owed")),
            (Invoice.Status.UNCOLLECTIBLE, gettext_lazy("Uncollectible: write it off")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class CreditNoteForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), max_digits=AMOUNT_DIGITS, decimal_places=QUANTITY_PLACES
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("The buyer reads it on the credit note."),
    )
    line = forms.ChoiceField(label=gettext_lazy("For the line"), required=False)

    def __init__(self, *args, lines: list[InvoiceLine], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = {str(line.pk): line for line in lines}
        self.fields["line"].choices = [("", _("The invoice as a whole"))] + [
            (str(line.pk), line.description) for line in lines
        ]


STAFF_FORMS = {
    "paid": MarkPaidForm,
    "close": CloseForm,
    "credit": CreditNoteForm,
}


def _staff_forms(invoice: Invoice, lines: list[InvoiceLine], bound: dict) -> dict:
    forms_ = {}
    for prefix, form_class in STAFF_FORMS.items():
        if prefix in bound:
            forms_[prefix] = bound[prefix]
        elif form_class is CreditNoteForm:
            forms_[prefix] = form_class(prefix=prefix, lines=lines)
        else:
            forms_[prefix] = form_class(prefix=prefix)
    return forms_


def _line_groups(invoice: Invoice, lines: list[InvoiceLine], tz) -> list[LineGroup]:
    by_kind: dict[str, list[LineRow]] = defaultdict(list)
    for line in lines:
        by_kind[line.kind].append(LineRow(line, period_of(line.period_start, line.period_end, tz)))
    return [
        LineGroup(
            kind, str(title), by_kind[kind], sum((r.line.amount for r in by_kind[kind]), Decimal(0))
        )
        for kind, title in LINE_GROUPS
        if by_kind.get(kind)
    ]


def _render_invoice(
    request: HttpRequest, invoice: Invoice, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    lines = list(invoice.lines.all())
    prefetch_related_objects(lines, "adjusts")
    tz = _tz(invoice.buyer)
    by_pk = {line.pk: line for line in lines}
    credit_notes = [(note, by_pk.get(note.line_id)) for note in invoice.credit_notes.all()]
    bound = bound or {}
    show_staff = request.user.is_staff or bool(bound)
    return render(
        request,
        "storefront/billing/invoice_detail.html",
        {
            "invoice": invoice,
            "listing": invoice.plan_version.plan.listing,
            "period": period_of(invoice.period_start, invoice.period_end, tz),
            "opens": local_date(invoice.period_start, tz),
            "groups": _line_groups(invoice, lines, tz),
            "credit_notes": credit_notes,
            "credited": invoicing.credited(invoice),
            "amount_due": invoicing.amount_due(invoice),
            "show_fee": _sees_fee(request, invoice, _my_organizations(request)),
            "staff_forms": _staff_forms(invoice, lines, bound) if show_staff else None,
            "to_confirm": _payment_to_confirm(request, invoice),
        },
        status=status,
    )


def _payment_to_confirm(request: HttpRequest, invoice: Invoice):
    """The invoice's card payment that its bank wants the cardholder to confirm, for those who
    manage the buyer's billing."""
    if invoice.status != Invoice.Status.ISSUED or not has_permission(
        request.user, invoice.buyer, Permission.MANAGE_BILLING
    ):
        return None
    return payments.payment_awaiting_authentication(invoice=invoice)


@login_required
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_invoice(request, _invoice(request, pk))


def _invoice_action(request: HttpRequest, pk: int, prefix: str, act) -> HttpResponse:
    """Validate one staff form, call its service through `act(invoice, cleaned_data)` (which
    returns the success message), redirect; or show the page again with the form's errors."""
    invoice = _invoice(request, pk)
    kwargs = {"lines": list(invoice.lines.all())} if prefix == "credit" else {}
    form = STAFF_FORMS[prefix](request.POST, prefix=prefix, **kwargs)
    status = 400
    if form.is_valid():
        try:
            message = act(invoice, form)
        except ServiceError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code
        else:
            messages.success(request, message)
            return redirect("billing:invoice_detail", pk=invoice.pk)
    return _render_invoice(request, invoice, bound={prefix: form}, status=status)


@login_required
@require_POST
def invoice_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    def act(invoice: Invoice, form: MarkPaidForm) -> str:
        invoicing.invoice_mark_paid(
            actor=request.user, invoice=invoice, reference=form.cleaned_data["reference"]
        )
        return _("Invoice %(number)s is marked paid.") % {"number": invoice.number}

    return _invoice_action(request, pk, "paid", act)


@login_required
@require_POST
def invoice_close(request: HttpRequest, pk: int) -> HttpResponse:
    def act(invoice: Invoice, form: CloseForm) -> str:
        closed = invoicing.invoice_close(
            actor=request.user,
            invoice=invoice,
            status=form.cleaned_data["status"],
            reason=form.cleaned_data["reason"],
        )
        if closed.status == Invoice.Status.VOID:
            return _("Invoice %(number)s is void.") % {"number": closed.number}
        return _("Invoice %(number)s is written off as uncollectible.") % {"number": closed.number}

    return _invoice_action(request, pk, "close", act)


@login_required
@require_POST
def credit_note_create(request: HttpRequest, pk: int) -> HttpResponse:
    def act(invoice: Invoice, form: CreditNoteForm) -> str:
        note = invoicing.credit_note_create(
            actor=request.user,
            invoice=invoice,
            amount=form.cleaned_data["amount"],
            reason=form.cleaned_data["reason"],
            line=form.lines.get(form.cleaned_data["line"]),
        )
        return _("Credit note %(number)s issued.") % {"number": note.number}

    return _invoice_action(request, pk, "credit", act)


@login_required
def invoice_pdf_download(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = _invoice(request, pk)
    lines = list(invoice.lines.all())
    prefetch_related_objects(lines, "adjusts")
    tz = _tz(invoice.buyer)
    document = invoice_pdf(
        invoice,
        lines=[(line, period_of(line.period_start, line.period_end, tz)) for line in lines],
        period=period_of(invoice.period_start, invoice.period_end, tz),
        credit_notes=list(invoice.credit_notes.all()),
        credited=invoicing.credited(invoice),
        amount_due=invoicing.amount_due(invoice),
    )
    response = HttpResponse(document, content_type="application/pdf")
    return _attachment(response, f"{_file_name(invoice)}.pdf")


@login_required
def invoice_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """One invoice's lines with their lineage, amounts as plain decimals."""
    invoice = _invoice(request, pk)
    lines = list(invoice.lines.all())
    prefetch_related_objects(lines, "adjusts")
    tz = _tz(invoice.buyer)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    writer.writerow(
        [
            "invoice",
            "kind",
            "description",
            "metric",
            "quantity",
            "period_first_day",
            "period_last_day",
            "statement_line",
            "adjusts_invoice",
            "currency",
            "amount",
        ]
    )
    for line in lines:
        period = period_of(line.period_start, line.period_end, tz)
        writer.writerow(
            [
                invoice.number,
                line.kind,
                _cell(line.description),
                line.metric.code if line.metric else "",
                _plain_quantity(line.quantity),
                period.first.isoformat() if period else "",
                period.last.isoformat() if period else "",
                line.statement_line_id or "",
                line.adjusts.number if line.adjusts else "",
                invoice.currency,
                _plain_amount(line.amount, invoice.currency),
            ]
        )
    return _attachment(response, f"{_file_name(invoice)}.csv")


# --- Outcome statements -------------------------------------------------------------------------


class AcceptForm(forms.Form):
    """No fields: the button says it all; a refusal is shown on it."""


class DisputeForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("What is wrong with this figure?"),
        max_length=outcomes.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AnswerForm(forms.Form):
    quantity = forms.DecimalField(
        label=gettext_lazy("Corrected quantity"),
        required=False,
        min_value=Decimal(0),
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        help_text=gettext_lazy("Leave it empty to stand by the measured figure."),
    )
    note = forms.CharField(
        label=gettext_lazy("Evidence"),
        max_length=outcomes.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What was measured, and how: the buyer reads it."),
    )


class DecideForm(forms.Form):
    quantity = forms.DecimalField(
        label=gettext_lazy("Quantity to settle at"),
        min_value=Decimal(0),
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
    )
    note = forms.CharField(
        label=gettext_lazy("Reason for the decision"),
        max_length=outcomes.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


LINE_FORMS = {
    "accept": AcceptForm,
    "dispute": DisputeForm,
    "answer": AnswerForm,
    "decide": DecideForm,
}


@dataclass(frozen=True)
class Roles:
    """What the person may do on a statement (the services check it again)."""

    buyer: bool
    vendor: bool
    staff: bool


@dataclass
class StatementLineRow:
    line: OutcomeLine
    events: list[OutcomeLineEvent]
    forms: dict[str, forms.Form]

    @property
    def answered_amount(self) -> Decimal | None:
        """What the vendor's answer to a dispute would charge."""
        answers = [e for e in self.events if e.action == OutcomeLineEvent.Action.ANSWERED]
        return answers[-1].amount if answers else None


def _line_forms(line: OutcomeLine, roles: Roles, window_open: bool) -> list[str]:
    """The forms this person can use on the line now."""
    status = OutcomeLine.Status
    names = []
    if roles.buyer and line.status in (status.OPEN, status.ANSWERED):
        names.append("accept")
        if line.status == status.ANSWERED or window_open:
            names.append("dispute")
    if roles.vendor and line.status == status.DISPUTED:
        names.append("answer")
    if roles.staff and line.status in (status.DISPUTED, status.ANSWERED):
        names.append("decide")
    return names


def _roles(request: HttpRequest, statement: OutcomeStatement) -> Roles:
    subscription = statement.subscription
    vendor = subscription.plan_version.plan.listing.vendor
    return Roles(
        buyer=has_permission(request.user, subscription.buyer, Permission.MANAGE_BILLING),
        vendor=has_permission(request.user, vendor, Permission.MANAGE_BILLING),
        staff=request.user.is_staff,
    )


def _render_statement(
    request: HttpRequest,
    statement: OutcomeStatement,
    *,
    bound: tuple[int, str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    subscription = statement.subscription
    tz = _tz(subscription.buyer)
    now = timezone.now()
    window_open = statement.window_ends_at > now
    roles = _roles(request, statement)
    rows = []
    for line in statement.lines.all():
        forms_ = {
            name: LINE_FORMS[name](prefix=f"{name}-{line.pk}")
            for name in _line_forms(line, roles, window_open)
        }
        if bound and bound[0] == line.pk:
            forms_[bound[1]] = bound[2]
        rows.append(StatementLineRow(line, list(line.events.all()), forms_))
    invoice = Invoice.objects.filter(statement=statement).first()
    return render(
        request,
        "storefront/billing/statement_detail.html",
        {
            "statement": statement,
            "subscription": subscription,
            "listing": subscription.plan_version.plan.listing,
            "currency": subscription.plan_version.currency,
            "period": period_of(statement.period_start, statement.period_end, tz),
            "window_open": window_open,
            "notes": [note for note in statement.notes.splitlines() if note.strip()],
            "rows": rows,
            "roles": roles,
            "invoice": invoice,
        },
        status=status,
    )


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_statement(request, _statement(request, pk))


def _line_action(request: HttpRequest, pk: int, line_pk: int, name: str, act) -> HttpResponse:
    """Validate a line's form, call its service through `act(line, form)` (which returns the
    success message), redirect to the line; or show the page again with the form's errors."""
    statement = _statement(request, pk)
    line = next((line for line in statement.lines.all() if line.pk == line_pk), None)
    if line is None:
        raise Http404(_("No such line."))
    form = LINE_FORMS[name](request.POST, prefix=f"{name}-{line.pk}")
    status = 400
    if form.is_valid():
        try:
            message = act(line, form)
        except ServiceError as exc:
            form.add_error(None, exc.message)
            status = exc.status_code
        else:
            messages.success(request, message)
            url = reverse("billing:statement_detail", args=[statement.pk])
            return redirect(f"{url}#line-{line.pk}")
    return _render_statement(request, statement, bound=(line.pk, name, form), status=status)


@login_required
@require_POST
def line_accept(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    def act(line: OutcomeLine, form: AcceptForm) -> str:
        outcomes.outcome_line_accept(actor=request.user, line=line)
        return _("%(metric)s is accepted.") % {"metric": line.metric.name}

    return _line_action(request, pk, line_pk, "accept", act)


@login_required
@require_POST
def line_dispute(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    def act(line: OutcomeLine, form: DisputeForm) -> str:
        outcomes.outcome_line_dispute(
            actor=request.user, line=line, reason=form.cleaned_data["reason"]
        )
        return _("%(metric)s is disputed: the vendor answers next.") % {"metric": line.metric.name}

    return _line_action(request, pk, line_pk, "dispute", act)


@login_required
@require_POST
def line_answer(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    def act(line: OutcomeLine, form: AnswerForm) -> str:
        outcomes.outcome_line_answer(
            actor=request.user,
            line=line,
            note=form.cleaned_data["note"],
            quantity=form.cleaned_data["quantity"],
        )
        return _("Your answer is sent: the buyer accepts it, or Precis staff decide.")

    return _line_action(request, pk, line_pk, "answer", act)


@login_required
@require_POST
def line_decide(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    def act(line: OutcomeLine, form: DecideForm) -> str:
        outcomes.outcome_line_decide(
            actor=request.user,
            line=line,
            quantity=form.cleaned_data["quantity"],
            note=form.cleaned_data["note"],
        )
        return _("%(metric)s is decided and settled.") % {"metric": line.metric.name}

    return _line_action(request, pk, line_pk, "decide", act)


@login_required
def line_events(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """The telemetry behind a statement line, page by page, oldest first."""
    statement = _statement(request, pk)
    line = next((line for line in statement.lines.all() if line.pk == line_pk), None)
    if line is None:
        raise Http404(_("No such line."))
    events = documents.line_events(line).select_related("installation")
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "storefront/billing/line_events.html",
        {
            "statement": statement,
            "line": line,
            "subscription": statement.subscription,
            "listing": statement.subscription.plan_version.plan.listing,
            "period": period_of(
                statement.period_start, statement.period_end, _tz(statement.subscription.buyer)
            ),
            "page_obj": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
        },
    )
