"""A buyer's subscriptions: start one from a listing, see its terms, usage and installations,
register installations and manage their keys, and change the subscription's course.

Who sees a subscription is decided by billing.selectors.subscriptions_for (members of the buyer
organization; anyone else gets 404). Who may change it is decided by billing's services, which
need the MANAGE_BILLING permission: their ServiceError is shown as a message.

An installation key is shown once. The service returns it to the view that created it; the view
keeps it in the session only until the next page, which takes it out as it shows it (so the
address can be reloaded or bookmarked without showing or re-issuing the key), and that page is
never cached.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing import rating, selectors
from billing.models import (
    BillingAccount,
    Installation,
    InstallationKey,
    Metric,
    Plan,
    Subscription,
)
from billing.periods import local_date, local_midnight
from billing.services import installations, subscriptions
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import ServiceError
from marketplace.storefront.charts import daily_chart, window
from marketplace.storefront.pricing import VERSION_PREFETCH, terms_of

ISSUED_KEY_SESSION_KEY = "storefront_issued_key"
DAY = timedelta(days=1)


class InstallationForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=120,
        help_text=gettext_lazy("Where it runs, as your team says it: “Plant 1, line 3”."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=Installation.Kind.choices,
        initial=Installation.Kind.PLANT,
        widget=forms.RadioSelect,
    )


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionRow:
    """A subscription with what its pages say about time: in the buyer's time zone."""

    subscription: Subscription
    now: datetime

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.subscription.buyer.time_zone)

    @property
    def days_left(self) -> int | None:
        """Whole days of trial left (0 on its last day); None when not trialing."""
        ends = self.subscription.trial_ends_at
        if self.subscription.status != Subscription.Status.TRIALING or ends is None:
            return None
        return max((local_date(ends, self.tz) - local_date(self.now, self.tz)).days - 1, 0)

    @property
    def trial_last_day(self) -> date | None:
        """The trial's last free day (it ends at midnight as the next one begins)."""
        ends = self.subscription.trial_ends_at
        return local_date(ends - timedelta(microseconds=1), self.tz) if ends else None

    @property
    def last_day(self) -> date:
        """The last day of the period (its end is midnight at the start of the next day)."""
        return local_date(self.subscription.current_period_end - timedelta(microseconds=1), self.tz)

    @property
    def first_day(self) -> date:
        return local_date(self.subscription.current_period_start, self.tz)

    @property
    def today(self) -> date:
        return local_date(self.now, self.tz)


def _subscriptions(request: HttpRequest):
    return selectors.subscriptions_for(request.user).select_related(
        "plan_version__trial_allowance_metric"
    )


def _subscription(request: HttpRequest, pk: int) -> Subscription:
    """A subscription of one of the person's organizations; 404 for anyone else's."""
    return get_object_or_404(_subscriptions(request).prefetch_related(*VERSION_PREFETCH), pk=pk)


def _installation(subscription: Subscription, pk: int) -> Installation:
    return get_object_or_404(subscription.installations.all(), pk=pk)


def _can_manage(request: HttpRequest, subscription: Subscription) -> bool:
    return has_permission(request.user, subscription.buyer, Permission.MANAGE_BILLING)


def _detail_url(subscription: Subscription, anchor: str = "") -> str:
    url = reverse("subscriptions:detail", args=[subscription.pk])
    return f"{url}#{anchor}" if anchor else url


@login_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    organization = request.organization or None
    rows = []
    if organization is not None:
        now = timezone.now()
        rows = [
            SubscriptionRow(subscription, now)
            for subscription in _subscriptions(request).filter(buyer_id=organization.pk)
        ]
    return render(
        request,
        "storefront/subscriptions/list.html",
        {"organization": organization, "rows": rows},
    )


@dataclass(frozen=True)
class InstallationRow:
    installation: Installation
    active_key: InstallationKey | None
    last_used_at: datetime | None


def _installation_rows(subscription: Subscription) -> list[InstallationRow]:
    rows = []
    for installation in subscription.installations.prefetch_related("keys"):
        keys = list(installation.keys.all())
        used = [key.last_used_at for key in keys if key.last_used_at]
        rows.append(
            InstallationRow(
                installation=installation,
                active_key=next((key for key in keys if key.is_active), None),
                last_used_at=max(used, default=None),
            )
        )
    return rows


def _shown_first(metric: Metric) -> tuple:
    """Usage metrics before outcomes, then by name."""
    return (metric.kind != Metric.Kind.USAGE, metric.name)


def _metrics(subscription: Subscription) -> list[Metric]:
    metrics = Metric.objects.filter(listing_id=subscription.plan_version.plan.listing_id)
    return sorted(metrics, key=_shown_first)


@login_required
def subscription_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    row = SubscriptionRow(subscription, timezone.now())
    version = subscription.plan_version
    metrics = _metrics(subscription)
    usage = selectors.usage_totals(
        subscription,
        subscription.current_period_start,
        subscription.current_period_end,
        metrics=metrics,
    )
    is_trial = subscription.status == Subscription.Status.TRIALING
    account = BillingAccount.objects.filter(organization_id=subscription.buyer_id).first()
    allowance = version.trial_allowance_metric
    return render(
        request,
        "storefront/subscriptions/detail.html",
        {
            "subscription": subscription,
            "row": row,
            "listing": version.plan.listing,
            "terms": terms_of(version),
            "usage": [(metric, usage[metric.code]) for metric in metrics],
            "would_have_paid": rating.quote(version, usage) if is_trial else None,
            "allowance_used": usage.get(allowance.code) if is_trial and allowance else None,
            "installations": _installation_rows(subscription),
            "can_pay": account is not None and account.can_pay,
            "can_manage": _can_manage(request, subscription),
            # Paused within a paid period: resuming before its end goes on with it.
            "paid_until": subscription.current_period_end
            if subscription.status == Subscription.Status.PAUSED
            and subscription.current_period_end > row.now
            else None,
        },
    )


@login_required
def subscription_usage(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    row = SubscriptionRow(subscription, timezone.now())
    metrics = _metrics(subscription)
    totals = selectors.usage_totals(
        subscription,
        subscription.current_period_start,
        subscription.current_period_end,
        metrics=metrics,
    )
    first, last = window(row.first_day, row.last_day, row.today)
    start = max(subscription.current_period_start, local_midnight(first, row.tz))
    end = min(subscription.current_period_end, local_midnight(last + DAY, row.tz))
    charts = [
        daily_chart(daily.metric, daily.days, first=first, last=last, today=row.today)
        for daily in sorted(
            selectors.usage_by_day(subscription, start, end), key=lambda d: _shown_first(d.metric)
        )
    ]
    return render(
        request,
        "storefront/subscriptions/usage.html",
        {
            "subscription": subscription,
            "row": row,
            "listing": subscription.plan_version.plan.listing,
            "totals": [(metric, totals[metric.code]) for metric in metrics],
            "charts": charts,
        },
    )


# --- Starting and changing a subscription -------------------------------------------------------


@login_required
@require_POST
def subscription_start(request: HttpRequest) -> HttpResponse:
    plan_id = request.POST.get("plan", "")
    plan = (
        Plan.objects.select_related("listing").filter(pk=plan_id).first()
        if plan_id.isdigit()
        else None
    )
    if plan is None:
        raise Http404(_("No such plan."))
    back = reverse("storefront:listing", args=[plan.listing.slug]) + "#pricing"
    buyer = request.organization or None
    if buyer is None:
        messages.error(request, _("Create or join a buyer organization to start a trial."))
        return redirect(back)
    try:
        if request.POST.get("accept_invoice_terms"):
            subscriptions.billing_account_accept_invoice_terms(
                actor=request.user, organization=buyer
            )
        subscription = subscriptions.subscription_start(actor=request.user, buyer=buyer, plan=plan)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if subscription.status == Subscription.Status.TRIALING:
        messages.success(
            request,
            _(
                "Your trial of %(listing)s has started. Register an installation to get the key "
                "your platform sends usage with."
            )
            % {"listing": plan.listing.name},
        )
    else:
        messages.success(
            request,
            _("%(organization)s is subscribed to %(listing)s.")
            % {"organization": buyer.name, "listing": plan.listing.name},
        )
    return redirect(_detail_url(subscription))


def _act(request: HttpRequest, subscription: Subscription, action, success: str) -> HttpResponse:
    """Run one service on the subscription; its refusal becomes an error message."""
    try:
        action()
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = _detail_url(subscription)
    return redirect(target)


@login_required
@require_POST
def subscription_accept_terms(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    return _act(
        request,
        subscription,
        lambda: subscriptions.billing_account_accept_invoice_terms(
            actor=request.user, organization=subscription.buyer
        ),
        _("Invoice terms accepted for %(organization)s.")
        % {"organization": subscription.buyer.name},
    )


@login_required
@require_POST
def subscription_resume(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    return _act(
        request,
        subscription,
        lambda: subscriptions.subscription_resume(actor=request.user, subscription=subscription),
        _("The subscription is active again."),
    )


@login_required
@require_POST
def subscription_keep(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    return _act(
        request,
        subscription,
        lambda: subscriptions.subscription_keep(actor=request.user, subscription=subscription),
        _("The subscription continues: the cancellation is withdrawn."),
    )


@login_required
@require_POST
def subscription_pause(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    return _act(
        request,
        subscription,
        lambda: subscriptions.subscription_pause(actor=request.user, subscription=subscription),
        _("The subscription is paused. Resume it whenever you like: your data is kept."),
    )


def _confirm(request: HttpRequest, subscription: Subscription, **context) -> HttpResponse:
    return render(
        request,
        "storefront/subscriptions/confirm.html",
        {
            "subscription": subscription,
            "listing": subscription.plan_version.plan.listing,
            "back_url": _detail_url(subscription),
            **context,
        },
    )


@login_required
def subscription_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel: an active subscription at the end of its period (until then it can be kept);
    anything else at once."""
    subscription = _subscription(request, pk)
    at_period_end = subscription.status == Subscription.Status.ACTIVE
    if request.method == "POST":
        ends = SubscriptionRow(subscription, timezone.now()).last_day
        return _act(
            request,
            subscription,
            lambda: subscriptions.subscription_cancel(
                actor=request.user, subscription=subscription
            ),
            _("The subscription ends after %(day)s. Until then you can keep it.")
            % {"day": date_format(ends, "DATE_FORMAT")}
            if at_period_end
            else _("The subscription is canceled. Its usage and installations are kept."),
        )
    return _confirm(
        request,
        subscription,
        title=_("Cancel this subscription?"),
        text=_(
            "It runs until the end of the period you paid for, and you can keep it until then. "
            "Usage data is kept."
        )
        if at_period_end
        else _("It ends now: installations stop being entitled at once. Usage data is kept."),
        confirm_label=_("Cancel at the end of the period") if at_period_end else _("Cancel now"),
        action_url=reverse("subscriptions:cancel", args=[subscription.pk]),
    )


# --- Installations and keys -----------------------------------------------------------------------


def _show_key_next(request: HttpRequest, issued: installations.IssuedKey) -> HttpResponse:
    request.session[ISSUED_KEY_SESSION_KEY] = {
        "installation": issued.installation.pk,
        "key": issued.key,
    }
    return redirect(
        "subscriptions:installation_key",
        pk=issued.installation.subscription_id,
        installation_pk=issued.installation.pk,
    )


@login_required
def installation_create(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    form = InstallationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            issued = installations.installation_create(
                actor=request.user, subscription=subscription, **form.cleaned_data
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(subscription, "installations"))
        return _show_key_next(request, issued)
    return render(
        request,
        "storefront/subscriptions/installation_form.html",
        {
            "subscription": subscription,
            "listing": subscription.plan_version.plan.listing,
            "form": form,
            "can_manage": _can_manage(request, subscription),
        },
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def installation_key(request: HttpRequest, pk: int, installation_pk: int) -> HttpResponse:
    """The key just issued, this once; afterwards the address says it cannot be shown again."""
    subscription = _subscription(request, pk)
    installation = _installation(subscription, installation_pk)
    issued = request.session.get(ISSUED_KEY_SESSION_KEY)
    if not issued or issued.get("installation") != installation.pk:
        messages.info(
            request,
            _(
                "A key is shown only once, when it is issued. If it was lost, rotate it to get "
                "a new one."
            ),
        )
        return redirect(_detail_url(subscription, "installations"))
    del request.session[ISSUED_KEY_SESSION_KEY]
    metric = (
        Metric.objects.filter(
            listing_id=subscription.plan_version.plan.listing_id, kind=Metric.Kind.USAGE
        )
        .order_by("code")
        .first()
    )
    return render(
        request,
        "storefront/subscriptions/key.html",
        {
            "subscription": subscription,
            "listing": subscription.plan_version.plan.listing,
            "installation": installation,
            "key": issued["key"],
            "telemetry_url": request.build_absolute_uri(reverse("api:v1:telemetry")),
            "example_metric": metric.code if metric else "inspections",
            "example_time": timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )


@login_required
def installation_rotate(request: HttpRequest, pk: int, installation_pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    installation = _installation(subscription, installation_pk)
    if request.method == "POST":
        try:
            issued = installations.installation_key_rotate(
                actor=request.user, installation=installation
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect(_detail_url(subscription, "installations"))
        return _show_key_next(request, issued)
    has_key = installation.keys.filter(revoked_at__isnull=True).exists()
    return _confirm(
        request,
        subscription,
        title=_("Issue a new key for %(name)s?") % {"name": installation.name},
        text=_(
            "The new key is shown once. The current key stops working at once: put the new "
            "one in your platform's settings straight away."
        )
        if has_key
        else _("The new key is shown once: copy it into your platform's settings."),
        confirm_label=_("Issue a new key"),
        action_url=reverse("subscriptions:installation_rotate", args=[pk, installation.pk]),
        danger=has_key,
    )


@login_required
def installation_revoke(request: HttpRequest, pk: int, installation_pk: int) -> HttpResponse:
    subscription = _subscription(request, pk)
    installation = _installation(subscription, installation_pk)
    active = list(installation.keys.filter(revoked_at__isnull=True))
    if request.method == "POST":
        if not active:
            messages.info(
                request, _("%(name)s has no key to revoke.") % {"name": installation.name}
            )
            return redirect(_detail_url(subscription, "installations"))

        def revoke():
            for key in active:
                installations.installation_key_revoke(actor=request.user, key=key)

        return _act(
            request,
            subscription,
            revoke,
            _("The key of %(name)s is revoked: it no longer sends usage.")
            % {"name": installation.name},
        )
    return _confirm(
        request,
        subscription,
        title=_("Revoke the key of %(name)s?") % {"name": installation.name},
        text=_(
            "Telemetry sent with it is refused from now on, and it cannot be turned back on. "
            "Issue a new key when the installation should send usage again."
        ),
        confirm_label=_("Revoke key"),
        action_url=reverse("subscriptions:installation_revoke", args=[pk, installation.pk]),
        danger=True,
        key_prefixes=[key.prefix for key in active],
    )


# --- Changing plans -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanChoice:
    """Another plan of the listing, with what switching to it now would cost or credit."""

    plan: Plan
    terms: object
    proration: Decimal | None  # None during a trial: nothing is prorated
    currency: str

    @property
    def credit(self) -> Decimal:
        return -self.proration if self.proration else Decimal(0)


@login_required
def subscription_change_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch to another plan of the same listing: at once, the fee difference prorated for the
    rest of the period onto the next invoice (a trial just continues on the new plan)."""
    subscription = _subscription(request, pk)
    if request.method == "POST":
        plan = Plan.objects.filter(pk=request.POST.get("plan")).select_related("listing").first()
        if plan is None:
            messages.error(request, _("Choose a plan."))
            return redirect("subscriptions:change_plan", pk=subscription.pk)
        return _act(
            request,
            subscription,
            lambda: subscriptions.subscription_change_plan(
                actor=request.user, subscription=subscription, plan=plan
            ),
            _("You are now on the %(plan)s plan.") % {"plan": plan.name},
        )
    now = timezone.now()
    current = subscription.plan_version
    paid = subscription.status == Subscription.Status.ACTIVE
    choices = []
    for plan in selectors.offered_plans(current.plan.listing, buyer=subscription.buyer):
        if plan.pk == current.plan_id:
            continue
        version = selectors.current_offer(plan)
        amount = (
            subscriptions.proration(
                current,
                version,
                start=subscription.current_period_start,
                end=subscription.current_period_end,
                at=now,
            )
            if paid and version.currency == current.currency
            else None
        )
        choices.append(PlanChoice(plan, terms_of(version), amount, version.currency))
    return render(
        request,
        "storefront/subscriptions/change_plan.html",
        {
            "subscription": subscription,
            "listing": current.plan.listing,
            "choices": choices,
            "paid": paid,
            "can_manage": _can_manage(request, subscription),
            "back_url": _detail_url(subscription),
        },
    )
