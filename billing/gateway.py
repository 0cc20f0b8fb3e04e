"""The one place Precis talks to Stripe (stripe-python 16 with its pinned API version).

Everything else in Precis speaks Decimal amounts with a currency and its own ids; this module
turns them into Stripe's integer minor units and ids and back, and turns Stripe's errors into
`PaymentError` with a message a person can act on. Every POST carries an idempotency key that
the caller derives from the Precis object it is about (`customer:<organization id>`,
`invoice:<id>:charge:<attempt>`), so a call that timed out and is sent again creates nothing
twice: Stripe answers a repeated key with the first answer.

With the STRIPE_* settings pointing at Stripe this is test or live mode; in the embedded
default they point at localstripe (billing/stripe_local.py), which ignores the pinned API
version and answers in older shapes; the few places that differ are handled here.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

import requests
import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from billing.money import CURRENCY_EXPONENTS

# Stripe's tolerance for the age of a signed webhook, in seconds.
WEBHOOK_TOLERANCE = 300


class PaymentError(Exception):
    """A call to Stripe that did not do what was asked: `code` is Stripe's (`card_declined`,
    `timeout`, ...), `message` is for the person who can fix it, `retryable` says whether the
    same call may succeed later."""

    def __init__(self, message: str, *, code: str = "", retryable: bool = False):
        super().__init__(message)
        self.message, self.code, self.retryable = message, code, retryable


class WebhookRejected(Exception):
    """A webhook whose signature, secret or age does not hold: answered 400, never stored."""


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentError(_("Payments are not configured: STRIPE_SECRET_KEY is not set."))
    addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses=addresses,
        # Retried by us, with the same idempotency key, so that every retry is visible.
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
    )


def to_minor(amount: Decimal, currency: str) -> int:
    """A Decimal amount as Stripe's integer of minor units (fen for CNY, yen for JPY)."""
    minor = amount.scaleb(CURRENCY_EXPONENTS[currency])
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} {currency} is not a whole number of minor units")
    return int(minor)


def from_minor(amount: int, currency: str) -> Decimal:
    return Decimal(amount).scaleb(-CURRENCY_EXPONENTS[currency.upper()])


def _call(method, *args, params: dict | None = None, key: str | None = None):
    """One request, its Stripe errors as PaymentError."""
    try:
        return method(*args, params=params, options={"idempotency_key": key} if key else None)
    except stripe.CardError as error:
        raise PaymentError(
            error.user_message or str(error), code=error.code or "card_error"
        ) from error
    except stripe.APIConnectionError as error:
        raise PaymentError(
            _("Stripe could not be reached; the payment will be tried again."),
            code="timeout",
            retryable=True,
        ) from error
    except stripe.RateLimitError as error:
        raise PaymentError(
            _("Stripe is busy; try again."), code="rate_limit", retryable=True
        ) from (error)
    except stripe.StripeError as error:
        raise PaymentError(
            error.user_message or str(error),
            code=error.code or type(error).__name__,
            retryable=bool(error.http_status and error.http_status >= 500),
        ) from error


# --- Customers and cards ------------------------------------------------------------------------


def customer_create(*, organization_id: int, name: str, email: str) -> str:
    """A Stripe customer for a buyer organization; its id."""
    customer = _call(
        client().v1.customers.create,
        params={
            "name": name,
            "email": email,
            "metadata": {"precis_organization": str(organization_id)},
        },
        key=f"customer:{organization_id}",
    )
    return customer.id


@dataclass(frozen=True)
class SetupIntent:
    id: str
    client_secret: str
    status: str
    payment_method: str | None


def setup_intent_create(*, customer_id: str, key: str) -> SetupIntent:
    """A SetupIntent to save a card for off-session payments (Stripe Elements confirms it)."""
    intent = _call(
        client().v1.setup_intents.create,
        params={"customer": customer_id, "usage": "off_session", "payment_method_types": ["card"]},
        key=key,
    )
    return _setup_intent(intent)


def setup_intent_retrieve(setup_intent_id: str) -> SetupIntent:
    return _setup_intent(_call(client().v1.setup_intents.retrieve, setup_intent_id))


def _setup_intent(intent) -> SetupIntent:
    method = intent.payment_method
    return SetupIntent(
        id=intent.id,
        client_secret=intent.client_secret,
        status=intent.status,
        payment_method=_id(method),
    )


@dataclass(frozen=True)
class Card:
    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer: str | None


def payment_method_attach(*, payment_method_id: str, customer_id: str) -> Card:
    """Attach a confirmed card to the customer (Stripe does it on confirmation; localstripe does
    not), and return what Precis shows of it. Attaching it again is harmless."""
    card = payment_method_retrieve(payment_method_id)
    if card.customer == customer_id:
        return card
    method = _call(
        client().v1.payment_methods.attach,
        payment_method_id,
        params={"customer": customer_id},
        key=f"attach:{payment_method_id}:{customer_id}",
    )
    return _card(method)


def payment_method_detach(payment_method_id: str) -> None:
    """Take a removed card off its customer at Stripe, so it can never be charged again.
    Detaching a card already detached changes nothing."""
    if payment_method_retrieve(payment_method_id).customer is None:
        return
    _call(
        client().v1.payment_methods.detach,
        payment_method_id,
        key=f"detach:{payment_method_id}",
    )


def payment_method_retrieve(payment_method_id: str) -> Card:
    return _card(_call(client().v1.payment_methods.retrieve, payment_method_id))


def _id(reference) -> str | None:
    """The id of a referenced object, whether Stripe sent the id or expanded the object."""
    return reference if reference is None or isinstance(reference, str) else reference.id


def _card(method) -> Card:
    card = method.card
    return Card(
        id=method.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=int(card.exp_month),
        exp_year=int(card.exp_year),
        customer=_id(method.customer),
    )


# --- Charging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Charge:
    """A PaymentIntent as Precis reads it."""

    id: str
    status: str  # succeeded, processing, requires_payment_method, requires_action, canceled
    amount: Decimal
    currency: str
    created: int  # Stripe's seconds since the epoch
    error_code: str = ""
    error_message: str = ""


def payment_intent_create(
    *,
    amount: Decimal,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    key: str,
    metadata: dict[str, str],
) -> Charge:
    """Charge a saved card off-session (the buyer is not there). A declined card comes back as
    a Charge with status requires_payment_method and the decline's code, not as an error."""
    try:
        intent = _call(
            client().v1.payment_intents.create,
            params={
                "amount": to_minor(amount, currency),
                "currency": currency.lower(),
                "customer": customer_id,
                "payment_method": payment_method_id,
                "off_session": True,
                "confirm": True,
                "metadata": metadata,
            },
            key=key,
        )
    except PaymentError as error:
        declined = error.__cause__
        if not isinstance(declined, stripe.CardError):
            raise
        intent = getattr(declined.error, "payment_intent", None) if declined.error else None
        if intent is not None:
            return _charge(intent, code=error.code, message=error.message)
        # localstripe leaves the PaymentIntent out of a card error; Stripe puts it in.
        return Charge(
            id="",
            status="requires_payment_method",
            amount=amount,
            currency=currency,
            created=0,
            error_code=error.code,
            error_message=error.message,
        )
    return _charge(intent)


def payment_intent_retrieve(payment_intent_id: str) -> Charge:
    return _charge(_call(client().v1.payment_intents.retrieve, payment_intent_id))


@dataclass(frozen=True)
class Confirmation:
    """What the buyer's browser needs to confirm a PaymentIntent with Stripe.js, on-session,
    when the card's bank asks the cardholder to authenticate (3-D Secure)."""

    client_secret: str
    status: str  # requires_action (authenticate), requires_payment_method (confirm again), ...
    payment_method: str | None


def payment_intent_confirmation(payment_intent_id: str) -> Confirmation:
    intent = _call(client().v1.payment_intents.retrieve, payment_intent_id)
    error = getattr(intent, "last_payment_error", None)
    # Stripe keeps the card of a failed off-session attempt on its error, not on the intent.
    method = _id(intent.payment_method) or _id(getattr(error, "payment_method", None))
    return Confirmation(
        client_secret=intent.client_secret, status=intent.status, payment_method=method
    )


def payment_intent_cancel(payment_intent_id: str) -> Charge:
    """Cancel a PaymentIntent nobody confirmed, so that it can no longer be: before another
    attempt charges the same invoice."""
    return _charge(
        _call(
            client().v1.payment_intents.cancel,
            payment_intent_id,
            key=f"cancel:{payment_intent_id}",
        )
    )


def _charge(intent, *, code: str = "", message: str = "") -> Charge:
    error = getattr(intent, "last_payment_error", None)
    return Charge(
        id=intent.id,
        status=intent.status,
        amount=from_minor(intent.amount, intent.currency),
        currency=intent.currency.upper(),
        created=int(intent.created),
        error_code=code or (getattr(error, "code", "") or "" if error else ""),
        error_message=message or (getattr(error, "message", "") or "" if error else ""),
    )


# --- Webhooks ------------------------------------------------------------------------------------


def webhook_verify(payload: bytes, signature: str | None) -> dict:
    """The event a signed webhook carries, as a plain dict, after checking its signature on the
    raw body with the endpoint's secret and its age (at most WEBHOOK_TOLERANCE seconds)."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret:
        raise WebhookRejected("STRIPE_WEBHOOK_SECRET is not set")
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, WEBHOOK_TOLERANCE)
    except stripe.SignatureVerificationError as error:
        raise WebhookRejected(str(error).split(".")[0]) from error
    try:
        event = json.loads(payload)
    except ValueError as error:
        raise WebhookRejected("the body is not JSON") from error
    if not isinstance(event, dict) or not event.get("id") or not event.get("type"):
        raise WebhookRejected("the body is not a Stripe event")
    return event


def webhook_endpoint_register(*, url: str, secret: str, endpoint_id: str = "precis") -> None:
    """Point localstripe's webhooks at `url` (localstripe only: with Stripe, the endpoint is
    set up in the dashboard and its secret goes into STRIPE_WEBHOOK_SECRET)."""
    response = requests.post(
        f"{settings.STRIPE_API_BASE}/_config/webhooks/{endpoint_id}",
        data={"url": url, "secret": secret},
        timeout=settings.STRIPE_TIMEOUT,
    )
    response.raise_for_status()


def stripe_js_url() -> str:
    """Where the card form loads Stripe.js from: Stripe itself (required for card data in
    production), or the local Stripe-compatible server's stand-in in the embedded default."""
    base = settings.STRIPE_API_BASE
    return f"{base.rstrip('/')}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


# --- Reconciliation ------------------------------------------------------------------------------

# PaymentIntents asked for per page when listing (Stripe's maximum).
LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class ListedCharge:
    """A PaymentIntent from a listing: what Precis reads of it, and its metadata (where
    Precis puts `precis_payment`, `precis_invoice` and `precis_invoice_number`)."""

    charge: Charge
    metadata: dict[str, str]


def payment_intents_list(
    *, created_gte: int, page_size: int = LIST_PAGE_SIZE
) -> list[ListedCharge]:
    """Every PaymentIntent created at or after `created_gte` (Stripe's seconds since the epoch,
    as in `Charge.created`), one page after another.

    Stripe filters with `created[gte]` and lists newest first; localstripe refuses that filter
    ("Unexpected created") and lists oldest first, so on that refusal the listing is asked for
    again without it. Either way every page is read to the end and the intents are filtered
    here too, so the answer does not depend on the order or on the server honouring the filter.
    """
    filters: dict = {"created": {"gte": created_gte}}
    listed: dict[str, ListedCharge] = {}
    after: str | None = None
    while True:
        params = {**filters, "limit": page_size, **({"starting_after": after} if after else {})}
        try:
            page = _call(client().v1.payment_intents.list, params=params)
        except PaymentError as error:
            if filters and _refuses_created_filter(error):
                filters, after = {}, None
                continue
            raise
        new = [intent for intent in page.data if intent.id not in listed]
        for intent in new:
            if int(intent.created) >= created_gte:
                listed[intent.id] = ListedCharge(
                    charge=_charge(intent), metadata=_metadata(intent.metadata)
                )
        # A page of nothing new means the server started over (localstripe does when it does
        # not find `starting_after`): stop rather than loop.
        if not page.has_more or not new:
            return list(listed.values())
        after = page.data[-1].id


def _refuses_created_filter(error: PaymentError) -> bool:
    return isinstance(error.__cause__, stripe.InvalidRequestError) and "created" in error.message


def _metadata(metadata) -> dict[str, str]:
    """Stripe's metadata object (not a dict in stripe-python 16) as a plain dict of strings."""
    if metadata is None:
        return {}
    return {str(key): str(value) for key, value in metadata.to_dict().items()}


def payment_intent_find(payment_intent_id: str) -> Charge | None:
    """A PaymentIntent by id, or None when Stripe has no such PaymentIntent."""
    try:
        return payment_intent_retrieve(payment_intent_id)
    except PaymentError as error:
        missing = error.__cause__
        if isinstance(missing, stripe.InvalidRequestError) and missing.http_status == 404:
            return None
        raise


# --- Connect: paying vendors ---------------------------------------------------------------------
# localstripe has no Connect, so these three are exercised against a stand-in in the tests
# (tests/billing/test_payouts.py), which checks the parameters and idempotency keys sent.


def connect_account_create(*, organization_id: int, email: str, key: str) -> str:
    """An Express account for a vendor organization, able to receive transfers; its id."""
    params: dict = {
        "type": "express",
        "capabilities": {"transfers": {"requested": True}},
        "metadata": {"precis_organization": str(organization_id)},
    }
    if email:
        params["email"] = email
    return _call(client().v1.accounts.create, params=params, key=key).id


def connect_account_link_create(*, account_id: str, return_url: str, refresh_url: str) -> str:
    """A one-time address where the vendor completes Stripe's onboarding; it expires within
    minutes, so one is asked for every time (no idempotency key: each link is new)."""
    link = _call(
        client().v1.account_links.create,
        params={
            "account": account_id,
            "type": "account_onboarding",
            "return_url": return_url,
            "refresh_url": refresh_url,
        },
    )
    return link.url


def transfer_create(
    *, amount: Decimal, currency: str, destination: str, key: str, metadata: dict[str, str]
) -> str:
    """Move `amount` from the platform's balance to a connected account; the transfer's id."""
    transfer = _call(
        client().v1.transfers.create,
        params={
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "destination": destination,
            "metadata": metadata,
        },
        key=key,
    )
    return transfer.id
