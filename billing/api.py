"""Billing's HTTP API: subscriptions and installations for people, telemetry and entitlements
for machines (authenticated with an installation key: `Authorization: Bearer prc_...`)."""

from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import selectors
from billing.models import Installation, InstallationKey, Plan, Subscription
from billing.services import installations, subscriptions, telemetry
from marketplace.accounts.policies import organization_for, organizations_for
from marketplace.catalog import api as catalog_api
from marketplace.catalog import selectors as catalog_selectors
from marketplace.errors import ServiceError


class InstallationKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <installation key>`; a missing, wrong or revoked key is a 401."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _sep, raw = header.partition(" ")
        if scheme != self.keyword or not raw.strip():
            raise exceptions.AuthenticationFailed(
                _("Send the installation key as: Authorization: Bearer <key>.")
            )
        key = selectors.installation_key_for(raw.strip())
        if key is None:
            raise exceptions.AuthenticationFailed(_("This installation key is unknown or revoked."))
        return AnonymousUser(), key

    def authenticate_header(self, request):
        return self.keyword


class InstallationKeyScheme(OpenApiAuthenticationExtension):
    """Describes installation keys in the OpenAPI schema."""

    target_class = InstallationKeyAuthentication
    name = "installationKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An installation key (prc_...), shown once when the installation "
            "is registered.",
        }


class IsInstallation(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, InstallationKey)


class MachineApi(APIView):
    authentication_classes = [InstallationKeyAuthentication]
    permission_classes = [IsInstallation]


# --- Telemetry ------------------------------------------------------------------------------

IngestOutput = inline_serializer(
    "TelemetryIngestOutput",
    {
        "accepted": serializers.IntegerField(),
        "duplicates": serializers.IntegerField(),
        "rejected": inline_serializer(
            "TelemetryRejection",
            {
                "index": serializers.IntegerField(),
                "id": serializers.CharField(allow_null=True),
                "error": serializers.CharField(),
            },
            many=True,
        ),
    },
)


class TelemetryEventsCreateApi(MachineApi):
    """Push up to 1,000 usage or outcome events; answered once they are committed.

    An id already stored with the same content counts as a duplicate; with other content it
    is rejected. Events are rejected one by one (bad metric, value or timestamp) while the valid
    ones are stored; a body that is not JSON, over 1 MB or with more than 1,000 events is
    refused whole (400) and nothing is stored.
    """

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={202: IngestOutput},
        examples=[
            OpenApiExample(
                "A batch",
                value={
                    "events": [
                        {
                            "id": "line-3-2026-11-22T08:30:00Z",
                            "metric": "inspections",
                            "value": 120,
                            "timestamp": "2026-11-22T08:30:00Z",
                            "properties": {"camera": "cam-2"},
                        }
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        result = telemetry.usage_ingest_batch(key=request.auth, body=request.body)
        return Response(
            {
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class EntitlementsApi(MachineApi):
    """What the installation's subscription allows now: check before enabling a feature."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response(selectors.entitlement_for(request.auth.installation.subscription))


# --- Subscriptions (people) -----------------------------------------------------------------


class SubscriptionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    organization = serializers.CharField(source="buyer.slug")
    listing = serializers.CharField(source="plan_version.plan.listing.slug")
    plan = serializers.IntegerField(source="plan_version.plan_id")
    plan_version = serializers.IntegerField(source="plan_version.number")
    started_at = serializers.DateTimeField()
    trial_ends_at = serializers.DateTimeField(allow_null=True)
    current_period_start = serializers.DateTimeField()
    current_period_end = serializers.DateTimeField()


class SubscriptionInputSerializer(serializers.Serializer):
    plan = serializers.IntegerField()
    organization = serializers.SlugField(
        required=False, help_text="The buying organization; needed if you belong to several."
    )


class SubscriptionListCreateApi(APIView):
    """The subscriptions of your organizations; POST starts one (a trial when the plan has one)."""

    @extend_schema(responses=SubscriptionOutputSerializer(many=True))
    def get(self, request):
        return Response(
            SubscriptionOutputSerializer(selectors.subscriptions_for(request.user), many=True).data
        )

    @extend_schema(
        request=SubscriptionInputSerializer, responses={201: SubscriptionOutputSerializer}
    )
    def post(self, request):
        data = SubscriptionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        buyer = _buyer(request, data.validated_data.get("organization"))
        plan = Plan.objects.select_related("listing").filter(pk=data.validated_data["plan"]).first()
        if plan is None:
            raise ServiceError(_("No such plan."), code="not_found", status_code=404)
        subscription = subscriptions.subscription_start(actor=request.user, buyer=buyer, plan=plan)
        return Response(
            SubscriptionOutputSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


def _buyer(request, slug: str | None):
    if slug:
        return organization_for(request.user, slug)
    buyers = list(organizations_for(request.user).filter(is_buyer=True)[:2])
    if len(buyers) != 1:
        raise ServiceError(
            _('Say which organization buys: add "organization": <slug>.'), code="organization"
        )
    return buyers[0]


def _subscription(request, pk: int) -> Subscription:
    return get_object_or_404(selectors.subscriptions_for(request.user), pk=pk)


class InstallationInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(
        choices=Installation.Kind.choices, default=Installation.Kind.PLANT
    )


class InstallationCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="installation.pk")
    name = serializers.CharField(source="installation.name")
    kind = serializers.CharField(source="installation.kind")
    key = serializers.CharField(help_text="Shown this once: store it now.")
    key_prefix = serializers.CharField(source="record.prefix")


class InstallationCreateApi(APIView):
    """Register where the solution runs; the answer holds its API key, shown this once."""

    @extend_schema(
        request=InstallationInputSerializer, responses={201: InstallationCreatedSerializer}
    )
    def post(self, request, pk: int):
        subscription = _subscription(request, pk)
        data = InstallationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        issued = installations.installation_create(
            actor=request.user, subscription=subscription, **data.validated_data
        )
        return Response(InstallationCreatedSerializer(issued).data, status=status.HTTP_201_CREATED)


class SubscriptionUsageApi(APIView):
    """Usage per metric in the subscription's current period, metered from its telemetry."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        subscription = _subscription(request, pk)
        return Response(selectors.usage_summary(subscription, now=timezone.now()))


# --- The listing's plans in the public catalog API ---------------------------------------------

AMOUNT = {"max_digits": 20, "decimal_places": 6}
QUANTITY = {"max_digits": 30, "decimal_places": 9}


class TierOutputSerializer(serializers.Serializer):
    up_to = serializers.DecimalField(**QUANTITY, allow_null=True)
    unit_price = serializers.DecimalField(**AMOUNT)
    flat_amount = serializers.DecimalField(**AMOUNT)


class MeteredChargeOutputSerializer(serializers.Serializer):
    metric = serializers.CharField(source="metric.code")
    unit = serializers.CharField(source="metric.unit")
    model = serializers.CharField()
    unit_price = serializers.DecimalField(**AMOUNT, allow_null=True)
    included_units = serializers.DecimalField(**QUANTITY)
    package_size = serializers.DecimalField(**QUANTITY, allow_null=True)
    package_price = serializers.DecimalField(**AMOUNT, allow_null=True)
    tiers = TierOutputSerializer(many=True)


class OutcomeChargeOutputSerializer(serializers.Serializer):
    metric = serializers.CharField(source="metric.code")
    unit = serializers.CharField(source="metric.unit")
    method = serializers.CharField()
    unit_price = serializers.DecimalField(**AMOUNT, allow_null=True)
    share_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    tariff = serializers.DecimalField(**AMOUNT, allow_null=True)
    floor = serializers.DecimalField(**AMOUNT, allow_null=True)
    cap = serializers.DecimalField(**AMOUNT, allow_null=True)
    verification_window_days = serializers.IntegerField()


class PlanOutputSerializer(serializers.Serializer):
    """A plan as offered now: the terms of its current version. Amounts are decimal strings."""

    id = serializers.IntegerField(source="plan.pk")
    name = serializers.CharField(source="plan.name")
    description = serializers.CharField(source="plan.description")
    version = serializers.IntegerField(source="number")
    currency = serializers.CharField()
    trial_days = serializers.IntegerField(allow_null=True)
    trial_allowance = serializers.DecimalField(**QUANTITY, allow_null=True)
    trial_allowance_metric = serializers.CharField(
        source="trial_allowance_metric.code", allow_null=True, default=None
    )
    trial_requires_card = serializers.BooleanField()
    recurring_amount = serializers.DecimalField(**AMOUNT, allow_null=True)
    recurring_interval = serializers.CharField()
    payment_terms_days = serializers.IntegerField()
    metered_charges = MeteredChargeOutputSerializer(many=True)
    outcome_charges = OutcomeChargeOutputSerializer(many=True)


class ListingWithPlansOutputSerializer(catalog_api.ListingDetailOutputSerializer):
    plans = serializers.SerializerMethodField(help_text="The plans offered to everyone.")

    @extend_schema_field(PlanOutputSerializer(many=True))
    def get_plans(self, listing) -> list[dict]:
        versions = [selectors.current_offer(plan) for plan in selectors.offered_plans(listing)]
        return PlanOutputSerializer(versions, many=True).data


class ListingDetailWithPlansApi(catalog_api.ListingDetailApi):
    """One published listing with its versions, claims, components and offered plans."""

    @extend_schema(responses=ListingWithPlansOutputSerializer)
    def get(self, request, slug: str):
        listing = catalog_selectors.listing_page(slug)
        if listing is None:
            raise Http404
        return Response(
            ListingWithPlansOutputSerializer(listing, context={"request": request}).data
        )
