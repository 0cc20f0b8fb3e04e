"""The buyer's saved cards: the list, adding one with Stripe Elements, and confirming a card
payment that the card's bank wants authenticated.

The card number never reaches Precis: the page asks billing for a SetupIntent, Stripe.js
collects the card and confirms it with Stripe, and the page then posts only the SetupIntent's
id, from which billing saves the card's brand, last four digits and expiry. A payment is
confirmed the same way: Stripe.js shows the bank's 3-D Secure step, and the page then posts
nothing but "done", after which billing reads the outcome from Stripe.
"""

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing import gateway
from billing.models import Invoice, Payment
from billing.selectors import invoicing as documents
from billing.services import payments
from billing.services.subscriptions import billing_account_for
from marketplace.accounts.policies import Permission, has_permission
from marketplace.errors import ServiceError


def _organization(request: HttpRequest):
    organization = request.organization or None
    if organization is None:
        raise Http404(_("No organization."))
    return organization


@login_required
def card_list(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    account = billing_account_for(organization)
    can_manage = has_permission(request.user, organization, Permission.MANAGE_BILLING)
    setup, problem = None, ""
    if can_manage:
        try:
            setup = payments.card_setup_start(actor=request.user, organization=organization)
        except (ServiceError, gateway.PaymentError) as error:
            problem = getattr(error, "message", str(error))
    return render(
        request,
        "storefront/billing/cards.html",
        {
            "organization": organization,
            "cards": account.cards.filter(removed_at__isnull=True),
            "default_card_id": account.default_card_id,
            "can_manage": can_manage,
            "setup": setup,
            "problem": problem,
            "stripe_js_url": gateway.stripe_js_url(),
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )


@login_required
@require_POST
def card_added(request: HttpRequest) -> HttpResponse:
    organization = _organization(request)
    setup_intent_id = request.POST.get("setup_intent", "").strip()
    if not setup_intent_id:
        messages.error(request, _("The card form sent nothing. Try again."))
        return redirect("billing:card_list")
    try:
        card = payments.card_setup_finish(
            actor=request.user, organization=organization, setup_intent_id=setup_intent_id
        )
    except (ServiceError, gateway.PaymentError) as error:
        messages.error(request, getattr(error, "message", str(error)))
        return redirect("billing:card_list")
    messages.success(
        request,
        _("%(brand)s card ending in %(last4)s saved. Invoices are charged to it when issued.")
        % {"brand": card.brand.title(), "last4": card.last4},
    )
    return redirect("billing:card_list")


def _card_action(request: HttpRequest, change, done: str) -> HttpResponse:
    """Apply a billing service to one of the organization's cards and say what happened."""
    try:
        card = change(actor=request.user, organization=_organization(request))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done % {"brand": card.brand.title(), "last4": card.last4})
    return redirect("billing:card_list")


@login_required
@require_POST
def card_default(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_action(
        request,
        functools.partial(payments.card_make_default, card_id=pk),
        _("Invoices are now charged to the %(brand)s card ending in %(last4)s."),
    )


@login_required
@require_POST
def card_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _card_action(
        request,
        functools.partial(payments.card_remove, card_id=pk),
        _("The %(brand)s card ending in %(last4)s was removed."),
    )


@login_required
def invoice_confirm_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the page that confirms the invoice's waiting payment with Stripe.js. POST (sent by
    that page once Stripe.js is done, whatever happened): apply what Stripe says now."""
    try:
        invoice = documents.invoice_detail(request.user, pk)
    except Invoice.DoesNotExist:
        raise Http404(_("No such invoice.")) from None
    back = redirect("billing:invoice_detail", pk=invoice.pk)
    try:
        if request.method == "POST":
            payment = payments.payment_authentication_finish(actor=request.user, invoice=invoice)
        else:
            payment, confirmation = payments.payment_authentication_start(
                actor=request.user, invoice=invoice
            )
    except (ServiceError, gateway.PaymentError) as error:
        messages.error(request, getattr(error, "message", str(error)))
        return back
    if request.method == "POST":
        if payment.status == Payment.Status.SUCCEEDED:
            messages.success(
                request, _("Thank you: invoice %(number)s is paid.") % {"number": invoice.number}
            )
        elif payment.status == Payment.Status.PROCESSING:
            messages.info(request, _("Confirmed: the bank is still moving the money."))
        else:
            messages.error(
                request,
                _("The payment was not confirmed: %(reason)s") % {"reason": payment.error_message},
            )
        return back
    return render(
        request,
        "storefront/billing/confirm_payment.html",
        {
            "invoice": invoice,
            "payment": payment,
            "confirmation": confirmation,
            "stripe_js_url": gateway.stripe_js_url(),
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        },
    )
