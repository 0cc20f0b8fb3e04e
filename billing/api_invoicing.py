"""Billing's HTTP API for invoices and outcome statements.

Both sides read the same documents through billing.selectors.invoicing: the buyer's members and
the issuing vendor's members see an invoice or a statement; anyone else gets 404. The buyer
verifies each outcome line (accept or dispute) and the vendor answers disputes; each of those
calls one service in billing.services.outcomes, whose refusals leave through the API's one error
handler.

Amounts are decimal strings in their currency's minor unit ("669.00") next to the currency
code; quantities are exact decimal strings without trailing zeros ("45", "40.125"). Nothing here
passes through a float, including numbers sent in a request body.
"""

import json
from decimal import Decimal

import django_filters
from django.conf import settings
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, parsers, serializers
from rest_framework.fields import get_attribute
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Invoice, InvoiceLine, OutcomeLine, OutcomeLineEvent, OutcomeStatement
from billing.money import QUANTITY_DIGITS, QUANTITY_PLACES, round_minor
from billing.selectors import invoicing as selectors
from billing.services import invoicing, outcomes

# --- Fields and parsing -----------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^-?\d+(?:\.\d+)?$",
        "example": "669.00",
        "description": "An exact decimal amount in the currency given alongside it.",
    }
)
class AmountField(serializers.Field):
    """A stored amount as a decimal string in its currency's minor unit: "669.00" in CNY.

    Amounts are stored rounded to the minor unit, so this only sets the number of decimals; an
    amount with more decimals than that is shown as it is, never rounded here. `currency` is the
    dotted path from the serialized object to its ISO code.
    """

    def __init__(self, *, currency: str = "currency", **kwargs):
        self.currency_attrs = currency.split(".")
        super().__init__(read_only=True, **kwargs)

    def get_attribute(self, instance):
        amount = super().get_attribute(instance)
        if amount is None:
            return None
        return amount, get_attribute(instance, self.currency_attrs)

    def to_representation(self, value) -> str:
        return _amount(*value)


def _amount(amount: Decimal, currency: str) -> str:
    minor = round_minor(amount, currency)
    return format(minor if minor == amount else amount, "f")


class QuantityField(serializers.DecimalField):
    """A quantity as an exact decimal string without trailing zeros: "45", "40.125"."""

    def __init__(self, **kwargs):
        super().__init__(
            max_digits=QUANTITY_DIGITS,
            decimal_places=QUANTITY_PLACES,
            normalize_output=True,
            read_only=True,
            **kwargs,
        )


def _not_a_number(constant: str):
    raise ValueError(f"{constant} is not a number")


class DecimalJSONParser(parsers.JSONParser):
    """JSON whose numbers with a fraction are read as Decimals, never through a float: a
    quantity of 1234567890.123456789 arrives with all its digits. NaN and Infinity are refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(
                stream.read().decode(encoding),
                parse_float=Decimal,
                parse_constant=_not_a_number,
            )
        except ValueError as exc:
            # Worded as DRF's own JSONParser words it for every other endpoint.
            raise exceptions.ParseError(f"JSON parse error - {exc}") from exc


# --- Invoices ----------------------------------------------------------------------------------

INVOICE_STATUSES = "draft (waiting for outcome verification), issued, paid, void or uncollectible"


class InvoiceReferenceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="Empty while the invoice is a draft.")


class InvoiceLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=InvoiceLine.Kind.choices)
    description = serializers.CharField()
    metric = serializers.CharField(source="metric.code", allow_null=True, default=None)
    quantity = QuantityField(allow_null=True)
    amount = AmountField(currency="invoice.currency")
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    statement_line = serializers.IntegerField(
        source="statement_line_id",
        allow_null=True,
        help_text="For an outcome: the outcome statement line it settles.",
    )
    adjusts = InvoiceReferenceOutputSerializer(
        allow_null=True,
        help_text="For an adjustment: the earlier invoice whose period the late usage is for.",
    )


class CreditNoteOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    amount = AmountField()
    currency = serializers.CharField()
    reason = serializers.CharField()
    line = serializers.IntegerField(source="line_id", allow_null=True)
    created_at = serializers.DateTimeField()


class InvoiceOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(help_text="Given on issue; empty while a draft.")
    status = serializers.CharField(help_text=INVOICE_STATUSES)
    buyer = serializers.SlugField(source="buyer.slug")
    issuer = serializers.SlugField(source="issuer.slug", help_text="The vendor organization.")
    listing = serializers.SlugField(source="plan_version.plan.listing.slug")
    subscription = serializers.IntegerField(source="subscription_id")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField(
        help_text="The period the invoice closes; equal to period_start when it only opens one."
    )
    currency = serializers.CharField()
    total = AmountField(help_text="The sum of the lines (so far, while a draft).")
    issued_at = serializers.DateTimeField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    is_overdue = serializers.BooleanField()
    statement = serializers.IntegerField(
        source="statement_id",
        allow_null=True,
        help_text="The outcome statement a draft waits for, and whose outcomes it invoices.",
    )


class InvoiceDetailOutputSerializer(InvoiceOutputSerializer):
    amount_due = serializers.SerializerMethodField(
        help_text="What is still owed: the total less credit notes while issued, else zero."
    )
    lines = InvoiceLineOutputSerializer(many=True)
    credit_notes = CreditNoteOutputSerializer(many=True)

    @extend_schema_field(AmountField())
    def get_amount_due(self, invoice: Invoice) -> str:
        return _amount(invoicing.amount_due(invoice), invoice.currency)


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Invoice.Status.choices)

    class Meta:
        model = Invoice
        fields: list[str] = []


class InvoiceListApi(ListAPIView):
    """Invoices your organizations received or issued, newest period first, drafts included."""

    serializer_class = InvoiceOutputSerializer
    filterset_class = InvoiceFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    queryset = Invoice.objects.none()  # scoped to the caller in get_queryset

    def get_queryset(self):
        return selectors.invoices_for(self.request.user)


class InvoiceDetailApi(APIView):
    """One invoice with its lines (and where each came from) and its credit notes."""

    @extend_schema(responses=InvoiceDetailOutputSerializer)
    def get(self, request, pk: int):
        try:
            invoice = selectors.invoice_detail(request.user, pk)
        except Invoice.DoesNotExist as exc:
            raise Http404 from exc
        prefetch_related_objects([invoice], "lines__adjusts")
        return Response(InvoiceDetailOutputSerializer(invoice).data)


# --- Outcome statements ------------------------------------------------------------------------

LINE_CURRENCY = "statement.subscription.plan_version.currency"


class OutcomeAnswerOutputSerializer(serializers.Serializer):
    note = serializers.CharField(source="answer_note")
    quantity = QuantityField(source="answer_quantity")


class OutcomeLineEventOutputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=OutcomeLineEvent.Action.choices)
    note = serializers.CharField()
    quantity = QuantityField(allow_null=True)
    amount = AmountField(currency=f"line.{LINE_CURRENCY}", allow_null=True)
    created_at = serializers.DateTimeField()


class OutcomeLineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    statement = serializers.IntegerField(source="statement_id")
    metric = serializers.CharField(source="metric.code")
    unit = serializers.CharField(source="metric.unit")
    currency = serializers.CharField(source=LINE_CURRENCY)
    measured = QuantityField()
    baseline_value = QuantityField(
        allow_null=True, help_text="The agreed baseline, for a share of savings."
    )
    claimed_amount = AmountField(currency=LINE_CURRENCY)
    status = serializers.CharField(
        help_text="open (waiting for the buyer), disputed (waiting for the vendor), answered "
        "(waiting for the buyer or Precis staff) or settled."
    )
    resolution = serializers.ChoiceField(
        choices=OutcomeLine.Resolution.choices,
        allow_blank=True,
        help_text="How a settled line settled; empty before.",
    )
    dispute_reason = serializers.CharField()
    answer = serializers.SerializerMethodField(help_text="The vendor's answer to a dispute.")
    settled_quantity = QuantityField(allow_null=True)
    settled_amount = AmountField(currency=LINE_CURRENCY, allow_null=True)
    settled_at = serializers.DateTimeField(allow_null=True)
    history = OutcomeLineEventOutputSerializer(source="events", many=True)

    @extend_schema_field(OutcomeAnswerOutputSerializer(allow_null=True))
    def get_answer(self, line: OutcomeLine) -> dict | None:
        if line.answer_quantity is None:
            return None
        return OutcomeAnswerOutputSerializer(line).data


class OutcomeStatementOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subscription = serializers.IntegerField(source="subscription_id")
    listing = serializers.SlugField(source="subscription.plan_version.plan.listing.slug")
    buyer = serializers.SlugField(source="subscription.buyer.slug")
    vendor = serializers.SlugField(source="subscription.plan_version.plan.listing.vendor.slug")
    currency = serializers.CharField(source="subscription.plan_version.currency")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    status = serializers.CharField(
        help_text="open (lines are being verified) or settled (invoiced)."
    )
    window_ends_at = serializers.DateTimeField(
        help_text="Lines nobody disputed by then settle at their claim."
    )
    settled_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField()
    invoice = serializers.IntegerField(source="invoice.pk", allow_null=True, default=None)


class OutcomeStatementDetailOutputSerializer(OutcomeStatementOutputSerializer):
    lines = OutcomeLineOutputSerializer(many=True)


class OutcomeStatementFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OutcomeStatement.Status.choices)

    class Meta:
        model = OutcomeStatement
        fields: list[str] = []


class OutcomeStatementListApi(ListAPIView):
    """Outcome statements of your organizations, as buyer or as vendor, newest period first."""

    serializer_class = OutcomeStatementOutputSerializer
    filterset_class = OutcomeStatementFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    queryset = OutcomeStatement.objects.none()  # scoped to the caller in get_queryset

    def get_queryset(self):
        return selectors.statements_for(self.request.user).select_related("invoice")


class OutcomeStatementDetailApi(APIView):
    """One outcome statement with its lines and each line's verification history."""

    @extend_schema(responses=OutcomeStatementDetailOutputSerializer)
    def get(self, request, pk: int):
        try:
            statement = selectors.statement_detail(request.user, pk)
        except OutcomeStatement.DoesNotExist as exc:
            raise Http404 from exc
        return Response(OutcomeStatementDetailOutputSerializer(statement).data)


def _statement_line(request, pk: int, line_pk: int) -> OutcomeLine:
    """A line of a statement the caller may see; 404 for any other."""
    statement = get_object_or_404(selectors.statements_for(request.user), pk=pk)
    return get_object_or_404(statement.lines.all(), pk=line_pk)


class OutcomeLineAcceptApi(APIView):
    """The buyer accepts the claimed figure, or the vendor's answer to a dispute."""

    @extend_schema(request=None, responses=OutcomeLineOutputSerializer)
    def post(self, request, pk: int, line_pk: int):
        line = outcomes.outcome_line_accept(
            actor=request.user, line=_statement_line(request, pk, line_pk)
        )
        return Response(OutcomeLineOutputSerializer(line).data)


class OutcomeLineDisputeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=outcomes.MAX_TEXT, help_text="What is wrong with the figure."
    )


class OutcomeLineDisputeApi(APIView):
    """The buyer disputes a claim (within the verification window) or the vendor's answer."""

    @extend_schema(request=OutcomeLineDisputeInputSerializer, responses=OutcomeLineOutputSerializer)
    def post(self, request, pk: int, line_pk: int):
        line = _statement_line(request, pk, line_pk)
        data = OutcomeLineDisputeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = outcomes.outcome_line_dispute(actor=request.user, line=line, **data.validated_data)
        return Response(OutcomeLineOutputSerializer(line).data)


class OutcomeLineAnswerInputSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=outcomes.MAX_TEXT, help_text="What was measured, and how."
    )
    quantity = serializers.DecimalField(
        max_digits=QUANTITY_DIGITS,
        decimal_places=QUANTITY_PLACES,
        required=False,
        allow_null=True,
        help_text="The quantity the vendor stands by, as a decimal string or a number; "
        "leave it out to keep the measured one.",
    )


class OutcomeLineAnswerApi(APIView):
    """The vendor answers a dispute with another quantity, or with evidence for the same one."""

    parser_classes = [DecimalJSONParser, parsers.FormParser, parsers.MultiPartParser]

    @extend_schema(request=OutcomeLineAnswerInputSerializer, responses=OutcomeLineOutputSerializer)
    def post(self, request, pk: int, line_pk: int):
        line = _statement_line(request, pk, line_pk)
        data = OutcomeLineAnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = outcomes.outcome_line_answer(actor=request.user, line=line, **data.validated_data)
        return Response(OutcomeLineOutputSerializer(line).data)
