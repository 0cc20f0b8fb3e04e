"""A vendor organization's payouts in the vendor portal: the list, each payout's statement (the
paid invoices it pays out, with the platform fee and the vendor's share) and its CSV, Stripe
Connect onboarding, and, for Precis staff, recording that a payout was paid.

Access as on the other Billing pages (marketplace.vendors.billing): members read, anyone else
gets 404. Staff read any vendor's payouts, since they pay them. Connecting a Stripe account
needs the billing permission (or staff); marking paid and transferring are staff only, which
billing.services.payouts checks again.
"""

import csv
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from billing.models import Payout
from billing.money import round_minor
from billing.selectors import payouts as payout_selectors
from billing.services import payouts
from marketplace.accounts.models import Organization
from marketplace.accounts.policies import Permission, membership_in, role_allows
from marketplace.errors import ServiceError
from marketplace.vendors.billing import PER_PAGE

# --- Who is asking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutAccess:
    organization: Organization
    # Owners, admins and billing members (and staff) act on billing; other members read.
    can_manage: bool
    is_staff: bool


def _access(request: HttpRequest, slug: str) -> PayoutAccess:
    """The vendor organization if the person is a member of it, or staff; 404 otherwise."""
    staff = request.user.is_staff
    try:
        membership = membership_in(request.user, slug)
    except Http404:
        if not staff:
            raise
        organization = get_object_or_404(Organization, slug=slug, is_vendor=True)
        return PayoutAccess(organization, can_manage=True, is_staff=True)
    if not membership.organization.is_vendor:
        raise Http404("Not a vendor organization.")
    can_manage = staff or role_allows(membership.role, Permission.MANAGE_BILLING)
    return PayoutAccess(membership.organization, can_manage=can_manage, is_staff=staff)


def _context(access: PayoutAccess) -> dict:
    return {
        "organization": access.organization,
        "can_manage": access.can_manage,
        "is_staff": access.is_staff,
        "tab": "payouts",
    }


def _payout(access: PayoutAccess, pk: int) -> Payout:
    return get_object_or_404(payout_selectors.payouts_of(access.organization), pk=pk)


# --- The list -----------------------------------------------------------------------------------


@login_required
def payout_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = _access(request, slug)
    page = Paginator(payout_selectors.payouts_of(access.organization), PER_PAGE).get_page(
        request.GET.get("page")
    )
    account = payout_selectors.payout_account_of(access.organization)
    return render(
        request,
        "vendors/billing/payouts.html",
        {
            **_context(access),
            "page_obj": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "payouts": list(page),
            "account": account,
            "balances": payout_selectors.vendor_balances(access.organization),
            "connect_enabled": payouts.connect_enabled(),
        },
    )


@login_required
@require_POST
def connect_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Send a billing manager to Stripe's onboarding of the vendor's Express account."""
    access = _access(request, slug)
    if not access.can_manage:
        raise PermissionDenied(_("Your role in this organization does not allow billing."))
    back = request.build_absolute_uri(reverse("vendors:payouts", args=[slug]))
    try:
        url = payouts.connect_onboarding_link(
            actor=request.user, vendor=access.organization, return_url=back, refresh_url=back
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("vendors:payouts", slug=slug)
    return redirect(url)


# --- One payout's statement ---------------------------------------------------------------------


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Bank transfer reference"),
        max_length=120,
        help_text=gettext_lazy("As it appears on Precis's bank statement."),
    )


def _render_payout(
    request: HttpRequest,
    access: PayoutAccess,
    payout: Payout,
    *,
    form: MarkPaidForm | None = None,
    status: int = 200,
) -> HttpResponse:
    account = payout_selectors.payout_account_of(access.organization)
    can_transfer = (
        access.is_staff
        and payouts.connect_enabled()
        and account is not None
        and bool(account.stripe_account_id)
        and payout.amount > 0
    )
    return render(
        request,
        "vendors/billing/payout_detail.html",
        {
            **_context(access),
            "payout": payout,
            "lines": list(payout_selectors.payout_lines(payout)),
            "later_credits": list(payout_selectors.later_credits(payout)),
            "form": form or (MarkPaidForm() if access.is_staff else None),
            "can_transfer": can_transfer,
        },
        status=status,
    )


@login_required
def payout_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = _access(request, slug)
    return _render_payout(request, access, _payout(access, pk))


def _plain(amount, currency: str) -> str:
    return str(round_minor(amount, currency))


def _cell(text: str) -> str:
    """Text for a spreadsheet cell: never read as a formula (names are typed by people)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
def payout_csv(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The statement as CSV: one row per invoice, then one per credit note on an invoice paid
    out earlier that this payout takes off; amounts as plain decimals, times in UTC."""
    access = _access(request, slug)
    payout = _payout(access, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    writer.writerow(
        [
            "invoice",
            "buyer",
            "paid_at",
            "currency",
            "total",
            "platform_fee",
            "credited",
            "vendor_share",
            "credit_note",
        ]
    )
    currency = payout.currency
    for line in payout_selectors.payout_lines(payout):
        invoice = line.invoice
        writer.writerow(
            [
                invoice.number,
                _cell(invoice.buyer.name),
                invoice.paid_at.isoformat() if invoice.paid_at else "",
                currency,
                _plain(line.total, currency),
                _plain(line.platform_fee, currency),
                _plain(line.credited, currency),
                _plain(line.vendor_share, currency),
                "",
            ]
        )
    for credit in payout_selectors.later_credits(payout):  # notes on earlier payouts' invoices
        note = credit.credit_note
        writer.writerow(
            [
                note.invoice.number,
                "",
                "",
                currency,
                "0",
                "0",
                _plain(credit.amount, currency),
                _plain(-credit.amount, currency),
                note.number,
            ]
        )
    month = payout.period_start.strftime("%Y-%m")
    name = f"payout-{access.organization.slug}-{month}-{payout.pk}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
@require_POST
def payout_mark_paid(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = _access(request, slug)
    payout = _payout(access, pk)
    form = MarkPaidForm(request.POST)
    if not form.is_valid():
        return _render_payout(request, access, payout, form=form, status=400)
    try:
        payouts.payout_mark_paid(
            actor=request.user, payout=payout, reference=form.cleaned_data["reference"]
        )
    except ServiceError as exc:
        form.add_error(None, exc.message)
        return _render_payout(request, access, payout, form=form, status=exc.status_code)
    messages.success(request, _("The payout is marked paid."))
    return redirect("vendors:payout_detail", slug=slug, pk=payout.pk)


@login_required
@require_POST
def payout_transfer(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access = _access(request, slug)
    payout = _payout(access, pk)
    try:
        payouts.payout_transfer(actor=request.user, payout=payout)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The payout was transferred with Stripe."))
    return redirect("vendors:payout_detail", slug=slug, pk=payout.pk)
