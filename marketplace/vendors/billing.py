"""The Billing pages of a vendor organization in the vendor portal: its figures (trials,
conversions, recurring revenue, revenue per listing, what waits for it), its customers, the
invoices it issued, and the baselines of customers who pay a share of their savings.

Every member of the vendor organization may read these pages; someone else gets 404. Acting
(proposing or agreeing to a baseline) needs the billing permission (owners, admins and billing
members): anyone else gets 403, and billing.services.outcomes checks it again. Reads go through
billing.selectors, writes through billing.services.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing.models import Invoice, Subscription
from billing.money import QUANTITY_DIGITS, QUANTITY_PLACES
from billing.periods import local_date, local_midnight
from billing.selectors import vendor as vendor_selectors
from billing.selectors.vendor import MonthFigures, SavingsMetric
from billing.services import outcomes
from marketplace.accounts.models import Membership, Organization
from marketplace.accounts.policies import Permission, membership_in, role_allows
from marketplace.errors import ServiceError
from marketplace.storefront.charts import BAR, HEIGHT, SLOT, nice_ceiling
from marketplace.storefront.subscriptions import SubscriptionRow

PER_PAGE = 25
PLACES = Decimal("0.01")


# --- Who is asking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorAccess:
    organization: Organization
    membership: Membership

    @property
    def can_manage(self) -> bool:
        """Owners, admins and billing members act on billing; other members read."""
        return role_allows(self.membership.role, Permission.MANAGE_BILLING)


def _access(request: HttpRequest, slug: str) -> VendorAccess:
    """The vendor organization with this slug if the person is a member; 404 otherwise."""
    membership = membership_in(request.user, slug)
    if not membership.organization.is_vendor:
        raise Http404("Not a vendor organization.")
    return VendorAccess(membership.organization, membership)


def _managing(request: HttpRequest, slug: str) -> VendorAccess:
    access = _access(request, slug)
    if not access.can_manage:
        raise PermissionDenied(_("Your role in this organization does not allow billing."))
    return access


def _context(access: VendorAccess, tab: str) -> dict:
    return {
        "organization": access.organization,
        "can_manage": access.can_manage,
        "tab": tab,
    }


def _page(request: HttpRequest, items):
    return Paginator(items, PER_PAGE).get_page(request.GET.get("page"))


# --- The chart of trials and conversions --------------------------------------------------------


def _units(value: Decimal) -> Decimal:
    return value.quantize(PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class MonthBar:
    """A month's trials as a bar; the part of it that converted is drawn solid inside it."""

    figures: MonthFigures
    x: Decimal
    width: Decimal
    trials_y: Decimal
    trials_height: Decimal
    conversions_y: Decimal
    conversions_height: Decimal


@dataclass(frozen=True)
class TrialsChart:
    """Trials started per month and how many converted, in a viewBox of one SLOT per month
    (the geometry and scale of marketplace.storefront.charts, per month instead of per day)."""

    bars: list[MonthBar]
    scale: Decimal

    @property
    def width(self) -> int:
        return len(self.bars) * SLOT

    @property
    def height(self) -> int:
        return HEIGHT

    @property
    def half(self) -> Decimal | None:
        """The middle tick, when it is a whole number of trials."""
        half = self.scale / 2
        return half if half == half.to_integral() else None

    @property
    def first_month(self) -> date:
        return self.bars[0].figures.month

    @property
    def last_month(self) -> date:
        return self.bars[-1].figures.month

    @property
    def has_trials(self) -> bool:
        return any(bar.figures.trials for bar in self.bars)


def trials_chart(months: list[MonthFigures]) -> TrialsChart:
    # At least 2, so that the middle tick is a whole trial.
    scale = max(nice_ceiling(Decimal(max((m.trials for m in months), default=0))), Decimal(2))

    def height(count: int) -> Decimal:
        return _units(Decimal(count) * HEIGHT / scale)

    bars = []
    for n, figures in enumerate(months):
        trials, conversions = height(figures.trials), height(figures.conversions)
        bars.append(
            MonthBar(
                figures=figures,
                x=_units(Decimal(n * SLOT) + (SLOT - BAR) / 2),
                width=BAR,
                trials_y=HEIGHT - trials,
                trials_height=trials,
                conversions_y=HEIGHT - conversions,
                conversions_height=conversions,
            )
        )
    return TrialsChart(bars=bars, scale=scale)


# --- Dashboard ----------------------------------------------------------------------------------


def _months(value: str | None) -> int:
    try:
        months = int(value or vendor_selectors.DEFAULT_MONTHS)
    except ValueError:
        return vendor_selectors.DEFAULT_MONTHS
    return months if months in vendor_selectors.MONTH_CHOICES else vendor_selectors.DEFAULT_MONTHS


@login_required
def billing_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    months = _months(request.GET.get("months"))
    figures = vendor_selectors.vendor_billing(access.organization, months=months)
    return render(
        request,
        "vendors/billing/dashboard.html",
        {
            **_context(access, "overview"),
            "figures": figures,
            "chart": trials_chart(figures.months),
            "months": months,
            "month_choices": vendor_selectors.MONTH_CHOICES,
        },
    )


# --- Customers ----------------------------------------------------------------------------------


@login_required
def customers(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    status = request.GET.get("status", "")
    subscriptions = vendor_selectors.customers_of(access.organization)
    if status in Subscription.Status.values:
        subscriptions = subscriptions.filter(status=status)
    else:
        status = ""
    page = _page(request, subscriptions)
    now = timezone.now()
    return render(
        request,
        "vendors/billing/customers.html",
        {
            **_context(access, "customers"),
            "page_obj": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "rows": [SubscriptionRow(subscription, now) for subscription in page],
            "status": status,
            "statuses": Subscription.Status.choices,
        },
    )


# --- Invoices -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice with its period as the buyer's days (periods are the buyer's)."""

    invoice: Invoice

    @property
    def _tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.invoice.buyer.time_zone)

    @property
    def first_day(self) -> date:
        return local_date(self.invoice.period_start, self._tz)

    @property
    def last_day(self) -> date:
        end = self.invoice.period_end
        if end == self.invoice.period_start:  # it only opens a period: its fee's first day
            return self.first_day
        return local_date(end - timedelta(microseconds=1), self._tz)


@login_required
def invoices(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    issued = vendor_selectors.invoices_issued_by(access.organization)
    status = request.GET.get("status", "")
    if status in Invoice.Status.values:
        issued = issued.filter(status=status)
    else:
        status = ""
    customer = None
    subscription_id = request.GET.get("subscription", "")
    if subscription_id.isdigit():
        customer = get_object_or_404(
            vendor_selectors.customers_of(access.organization), pk=int(subscription_id)
        )
        issued = issued.filter(subscription=customer)
    page = _page(request, issued)
    return render(
        request,
        "vendors/billing/invoices.html",
        {
            **_context(access, "invoices"),
            "page_obj": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "rows": [InvoiceRow(invoice) for invoice in page],
            "status": status,
            "statuses": Invoice.Status.choices,
            "customer": customer,
        },
    )


# --- Baselines ----------------------------------------------------------------------------------


class BaselineForm(forms.Form):
    """A baseline the vendor proposes; the buyer agrees to it before it applies."""

    metric = forms.TypedChoiceField(label=gettext_lazy("Metric"), coerce=int)
    value = forms.DecimalField(
        label=gettext_lazy("Baseline per period"),
        min_value=0,
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        widget=forms.NumberInput(attrs={"step": "any", "min": "0", "inputmode": "decimal"}),
        help_text=gettext_lazy("What a period would measure without your solution."),
    )
    effective_from = forms.DateField(
        label=gettext_lazy("Applies to periods from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy(
            "A day in the customer's time zone. Periods starting on or after it use this "
            "baseline once the customer agrees before they start."
        ),
    )
    note = forms.CharField(
        label=gettext_lazy("How it was measured"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, savings: list[SavingsMetric], **kwargs):
        super().__init__(*args, **kwargs)
        self.metrics = {item.metric.pk: item.metric for item in savings}
        self.fields["metric"].choices = [(item.metric.pk, item.metric.name) for item in savings]
        if len(savings) == 1:
            self.fields["metric"].widget = forms.HiddenInput()
            self.fields["value"].label = _("Baseline per period, in %(unit)s") % {
                "unit": savings[0].metric.unit
            }


def _next_period_day(subscription: Subscription) -> date:
    """The first day of the subscription's next period, in the buyer's time zone."""
    tz = zoneinfo.ZoneInfo(subscription.buyer.time_zone)
    return local_date(subscription.current_period_end, tz)


def _baselines_page(
    request: HttpRequest,
    access: VendorAccess,
    subscription: Subscription,
    *,
    form: BaselineForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    savings = vendor_selectors.savings_baselines(subscription, now=now)
    if not savings:
        raise Http404("This plan shares no savings.")
    if form is None and access.can_manage:
        initial = {"metric": savings[0].metric.pk, "effective_from": _next_period_day(subscription)}
        form = BaselineForm(savings=savings, initial=initial)
    return render(
        request,
        "vendors/billing/baselines.html",
        {
            **_context(access, "customers"),
            "subscription": subscription,
            "row": SubscriptionRow(subscription, now),
            "savings": savings,
            "form": form,
        },
        status=status,
    )


def _customer(access: VendorAccess, pk: int) -> Subscription:
    return get_object_or_404(vendor_selectors.customers_of(access.organization), pk=pk)


@login_required
def customer_baselines(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET shows the baselines; POST proposes a new version (billing permission needed)."""
    if request.method != "POST":
        access = _access(request, slug)
        return _baselines_page(request, access, _customer(access, pk))
    access = _managing(request, slug)
    subscription = _customer(access, pk)
    savings = vendor_selectors.savings_baselines(subscription)
    form = BaselineForm(request.POST, savings=savings)
    if not form.is_valid():
        return _baselines_page(request, access, subscription, form=form, status=400)
    tz = zoneinfo.ZoneInfo(subscription.buyer.time_zone)
    data = form.cleaned_data
    try:
        baseline = outcomes.baseline_propose(
            actor=request.user,
            subscription=subscription,
            metric=form.metrics[data["metric"]],
            value=data["value"],
            effective_from=local_midnight(data["effective_from"], tz),
            note=data["note"],
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _baselines_page(request, access, subscription, form=form, status=400)
    messages.success(
        request,
        _(
            "Baseline version %(number)d proposed to %(buyer)s. It applies once they agree, "
            "before the period it is for begins."
        )
        % {"number": baseline.number, "buyer": subscription.buyer.name},
    )
    return redirect("vendors:customer_baselines", slug=slug, pk=subscription.pk)


@login_required
@require_POST
def baseline_agree(request: HttpRequest, slug: str, pk: int, baseline: int) -> HttpResponse:
    access = _managing(request, slug)
    subscription = _customer(access, pk)
    proposal = get_object_or_404(vendor_selectors.baselines_of(subscription), pk=baseline)
    try:
        agreed = outcomes.baseline_agree(actor=request.user, baseline=proposal)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("You agreed to baseline version %(number)d of %(metric)s.")
            % {"number": agreed.number, "metric": proposal.metric.name},
        )
    return redirect("vendors:customer_baselines", slug=slug, pk=subscription.pk)
