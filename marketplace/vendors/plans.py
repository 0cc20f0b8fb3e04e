"""The Pricing pages of a listing in the vendor portal: its metrics, its plans, the plan editor,
and offering a plan or no longer.

Access is the listing pages' (views._listing_for): another organization's member gets 404, a
member whose role cannot publish gets 403. Writes go through billing.services.plans, which
checks the same permission again and validates the terms; its refusals are shown on the form.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from billing.models import MeteredCharge, Metric, OutcomeCharge, Plan, PlanVersion, Subscription
from billing.money import CURRENCY_EXPONENTS
from billing.services import plans as plan_services
from marketplace.catalog.models import Listing
from marketplace.errors import ServiceError
from marketplace.vendors.plan_forms import MetricForm, PlanEditor
from marketplace.vendors.views import _listing_context, _listing_for

# --- Reading plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionUse:
    number: int
    # Subscriptions on the version that have not been canceled: they keep its terms.
    subscribers: int
    # Anyone ever subscribed: the version is frozen, and a change makes a new one.
    frozen: bool


@dataclass(frozen=True)
class PlanRow:
    plan: Plan
    version: PlanVersion
    versions: list[VersionUse]
    summary: str

    @property
    def current(self) -> VersionUse:
        return self.versions[0]

    @property
    def subscribers(self) -> int:
        return sum(use.subscribers for use in self.versions)


def _version_uses(plan_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per version id: (subscriptions ever, subscriptions not canceled)."""
    rows = (
        Subscription.objects.filter(plan_version__plan_id__in=plan_ids)
        .values("plan_version_id")
        .annotate(
            total=Count("pk"),
            kept=Count("pk", filter=~Q(status=Subscription.Status.CANCELED)),
        )
    )
    return {row["plan_version_id"]: (row["total"], row["kept"]) for row in rows}


def _plans_of(listing: Listing, *, pk: int | None = None) -> list[PlanRow]:
    plans = listing.plans.select_related("private_for").prefetch_related(
        "versions__trial_allowance_metric",
        "versions__metered_charges__metric",
        "versions__metered_charges__tiers",
        "versions__outcome_charges__metric",
    )
    if pk is not None:
        plans = plans.filter(pk=pk)
    plans = list(plans)
    uses = _version_uses([plan.pk for plan in plans])
    rows = []
    for plan in plans:
        versions = sorted(plan.versions.all(), key=lambda v: v.number, reverse=True)
        if not versions:
            continue
        counts = [(v.number, *uses.get(v.pk, (0, 0))) for v in versions]
        rows.append(
            PlanRow(
                plan=plan,
                version=versions[0],
                versions=[VersionUse(n, kept, total > 0) for n, total, kept in counts],
                summary=terms_summary(versions[0]),
            )
        )
    return rows


def _plan_row(listing: Listing, pk: int) -> PlanRow:
    rows = _plans_of(listing, pk=pk)
    if not rows:
        raise Http404("No such plan.")
    return rows[0]


# --- One line of terms -------------------------------------------------------------------------


def _number(value: Decimal, places: int = 0) -> str:
    """A decimal with thousands grouped and at least `places` decimals: 1,000 or 0.025."""
    value = value.normalize()
    if value == value.to_integral():
        value = value.quantize(Decimal(1))
    if -value.as_tuple().exponent < places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return number_format(value, force_grouping=True)


def _money(amount: Decimal, currency: str) -> str:
    return f"{_number(amount, CURRENCY_EXPONENTS.get(currency, 2))} {currency}"


def _trial(version: PlanVersion) -> str:
    days = allowance = ""
    if version.trial_days:
        days = ngettext("%(days)d-day trial", "%(days)d-day trial", version.trial_days) % {
            "days": version.trial_days
        }
    if version.trial_allowance is not None and version.trial_allowance_metric:
        allowance = _("%(quantity)s %(unit)s free") % {
            "quantity": _number(version.trial_allowance),
            "unit": version.trial_allowance_metric.unit,
        }
    if days and allowance:
        text = _("%(days)s or %(allowance)s") % {"days": days, "allowance": allowance}
    else:
        text = days or allowance
    if text and version.trial_requires_card:
        text = _("%(trial)s (card needed)") % {"trial": text}
    return text


def _metered(charge: MeteredCharge, currency: str) -> str:
    metric = charge.metric
    if charge.model == MeteredCharge.Model.PER_UNIT:
        price = _("%(price)s/%(unit)s") % {
            "price": _money(charge.unit_price or Decimal(0), currency),
            "unit": metric.unit,
        }
    elif charge.model == MeteredCharge.Model.PACKAGE:
        price = _("%(price)s per %(size)s %(unit)s") % {
            "price": _money(charge.package_price or Decimal(0), currency),
            "size": _number(charge.package_size or Decimal(0)),
            "unit": metric.unit,
        }
    else:
        tiers = len(charge.tiers.all())
        label = (
            ngettext("graduated, %(n)d tier", "graduated, %(n)d tiers", tiers)
            if charge.model == MeteredCharge.Model.GRADUATED
            else ngettext("volume, %(n)d tier", "volume, %(n)d tiers", tiers)
        )
        price = label % {"n": tiers}
    if charge.included_units:
        price = _("%(price)s after %(included)s free") % {
            "price": price,
            "included": _number(charge.included_units),
        }
    return _("%(metric)s: %(price)s") % {"metric": metric.name, "price": price}


def _outcome(charge: OutcomeCharge, currency: str) -> str:
    if charge.method == OutcomeCharge.Method.SAVINGS_SHARE:
        share = _number(charge.share_percent or Decimal(0))
        price = _("%(share)s%% of savings") % {"share": share}
    else:
        price = _("%(price)s each") % {"price": _money(charge.unit_price or Decimal(0), currency)}
    return _("%(metric)s: %(price)s") % {"metric": charge.metric.name, "price": price}


def terms_summary(version: PlanVersion) -> str:
    """A version's terms in one line: trial, fee, charges, payment terms."""
    currency = version.currency
    parts = [_trial(version)]
    if version.recurring_amount:
        fee = _money(version.recurring_amount, currency)
        if version.recurring_interval == PlanVersion.Interval.YEAR:
            parts.append(_("%(fee)s a year") % {"fee": fee})
        else:
            parts.append(_("%(fee)s a month") % {"fee": fee})
    parts += [_metered(charge, currency) for charge in version.metered_charges.all()]
    parts += [_outcome(charge, currency) for charge in version.outcome_charges.all()]
    if version.payment_terms_days:
        parts.append(
            ngettext(
                "invoices due in %(days)d day",
                "invoices due in %(days)d days",
                version.payment_terms_days,
            )
            % {"days": version.payment_terms_days}
        )
    parts = [part for part in parts if part]
    return " · ".join(parts) if parts else _("Free")


def version_notice(use: VersionUse) -> str:
    """What saving new terms does to the current version, said before and after saving."""
    if not use.frozen:
        return _(
            "Nobody has subscribed to version %(version)d yet: saving changes it in place."
        ) % {"version": use.number}
    if use.subscribers:
        return ngettext(
            "%(count)d subscriber keeps version %(version)d; new subscribers get version %(next)d.",
            "%(count)d subscribers keep version %(version)d; new subscribers get version %(next)d.",
            use.subscribers,
        ) % {"count": use.subscribers, "version": use.number, "next": use.number + 1}
    return _(
        "Version %(version)d had subscribers, so it stays as it was; new subscribers get "
        "version %(next)d."
    ) % {"version": use.number, "next": use.number + 1}


# --- Pages -----------------------------------------------------------------------------------


def _metrics(listing: Listing) -> list[Metric]:
    return list(listing.metrics.order_by("kind", "code"))


@login_required
def listing_pricing(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    return render(
        request,
        "vendors/plans/pricing.html",
        {
            **_listing_context(listing, "pricing"),
            "plans": _plans_of(listing),
            "metrics": _metrics(listing),
        },
    )


@login_required
def metric_create(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    form = MetricForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            metric = plan_services.metric_create(
                actor=request.user, listing=listing, **form.cleaned_data
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("Metric %(code)s added. Your software can send it in telemetry now.")
                % {"code": metric.code},
            )
            return redirect("vendors:listing_pricing", slug=listing.slug)
    return render(
        request,
        "vendors/plans/metric_form.html",
        {**_listing_context(listing, "pricing"), "form": form, "metrics": _metrics(listing)},
    )


@login_required
def plan_create(request: HttpRequest, slug: str) -> HttpResponse:
    listing = _listing_for(request, slug)
    data = request.POST if request.method == "POST" else None
    editor = PlanEditor(data, metrics=_metrics(listing))
    if data is not None and editor.is_valid():
        try:
            plan = plan_services.plan_create(
                actor=request.user, listing=listing, terms=editor.terms(), **editor.plan_fields()
            )
        except ServiceError as exc:
            editor.add_error(exc.message)
        else:
            messages.success(
                request,
                _("Plan %(name)s saved. It is not offered yet: offer it when it is ready.")
                % {"name": plan.name},
            )
            return redirect("vendors:listing_pricing", slug=listing.slug)
    return render(
        request,
        "vendors/plans/plan_form.html",
        {**_listing_context(listing, "pricing"), "editor": editor, "row": None},
    )


@login_required
def plan_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    listing = _listing_for(request, slug)
    row = _plan_row(listing, pk)
    data = request.POST if request.method == "POST" else None
    editor = PlanEditor(data, metrics=_metrics(listing), plan=row.plan, version=row.version)
    if data is not None and editor.is_valid():
        try:
            version = plan_services.plan_update(
                actor=request.user, plan=row.plan, terms=editor.terms(), **editor.plan_fields()
            )
        except ServiceError as exc:
            editor.add_error(exc.message)
        else:
            if version.number == row.current.number:
                saved = _("Plan %(name)s saved.") % {"name": row.plan.name}
            else:
                saved = _("Plan %(name)s saved as version %(version)d.") % {
                    "name": row.plan.name,
                    "version": version.number,
                }
                saved = f"{saved} {version_notice(row.current)}"
            messages.success(request, saved)
            return redirect("vendors:listing_pricing", slug=listing.slug)
    return render(
        request,
        "vendors/plans/plan_form.html",
        {
            **_listing_context(listing, "pricing"),
            "editor": editor,
            "row": row,
            "notice": version_notice(row.current),
        },
    )


@login_required
def plan_offer(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET asks to confirm; POST offers the plan (offered=1) or stops offering it (offered=0)."""
    listing = _listing_for(request, slug)
    row = _plan_row(listing, pk)
    if request.method == "POST":
        offered = request.POST.get("offered") == "1"
        try:
            plan_services.plan_set_offered(actor=request.user, plan=row.plan, offered=offered)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if offered:
                messages.success(request, _("%(name)s is offered.") % {"name": row.plan.name})
            else:
                messages.success(
                    request, _("%(name)s is no longer offered.") % {"name": row.plan.name}
                )
        return redirect("vendors:listing_pricing", slug=listing.slug)
    return render(
        request,
        "vendors/plans/plan_offer.html",
        {**_listing_context(listing, "pricing"), "row": row},
    )
