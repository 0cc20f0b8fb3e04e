"""The HTTP API's shared parts: URL table, error format and schema scope.

Every error leaves the API as `{"error": {"code": str, "message": str, "fields": {...}}}`.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing import api as billing_api
from billing import api_invoicing
from marketplace.accounts import api as accounts_api
from marketplace.catalog import api as catalog_api
from marketplace.errors import ServiceError


def exception_handler(exc, context):
    """Map ServiceError and DRF's exceptions to the one error shape."""
    if isinstance(exc, ServiceError):
        return Response(
            {"error": {"code": exc.code, "message": exc.message}}, status=exc.status_code
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    error = {"code": getattr(exc, "default_code", "error"), "message": ""}
    if isinstance(exc, exceptions.ValidationError):
        error["code"] = "invalid"
        error["message"] = "The request has invalid fields."
        error["fields"] = response.data
    else:
        error["message"] = str(response.data.get("detail", exc))
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        if isinstance(codes, str):
            error["code"] = codes
    response.data = {"error": error}
    return response


def only_precis_endpoints(endpoints):
    """Schema preprocessing hook: describe /api/v1/ only (not Wagtail's content API)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


v1 = [
    path("auth/token/", accounts_api.AuthTokenCreateApi.as_view(), name="auth-token"),
    path("me/", accounts_api.MeApi.as_view(), name="me"),
    path("organizations/", accounts_api.OrganizationListApi.as_view(), name="organizations"),
    path(
        "organizations/<slug:slug>/",
        accounts_api.OrganizationDetailApi.as_view(),
        name="organization",
    ),
    path(
        "organizations/<slug:slug>/members/",
        accounts_api.OrganizationMemberListApi.as_view(),
        name="organization-members",
    ),
    path("listings/", catalog_api.ListingListApi.as_view(), name="listings"),
    # The catalog's listing detail with its plans: billing extends it (catalog cannot import
    # billing).
    path("listings/<slug:slug>/", billing_api.ListingDetailWithPlansApi.as_view(), name="listing"),
    path(
        "vendor/listings/",
        catalog_api.VendorListingListCreateApi.as_view(),
        name="vendor-listings",
    ),
    path(
        "vendor/listings/<slug:slug>/",
        catalog_api.VendorListingDetailApi.as_view(),
        name="vendor-listing",
    ),
    path(
        "vendor/listings/<slug:slug>/submit/",
        catalog_api.VendorListingSubmitApi.as_view(),
        name="vendor-listing-submit",
    ),
    path(
        "vendor/listings/<slug:slug>/versions/",
        catalog_api.VendorListingVersionCreateApi.as_view(),
        name="vendor-listing-versions",
    ),
    path(
        "subscriptions/",
        billing_api.SubscriptionListCreateApi.as_view(),
        name="subscriptions",
    ),
    path(
        "subscriptions/<int:pk>/installations/",
        billing_api.InstallationCreateApi.as_view(),
        name="subscription-installations",
    ),
    path(
        "subscriptions/<int:pk>/usage/",
        billing_api.SubscriptionUsageApi.as_view(),
        name="subscription-usage",
    ),
    path("telemetry/events", billing_api.TelemetryEventsCreateApi.as_view(), name="telemetry"),
    path("entitlements", billing_api.EntitlementsApi.as_view(), name="entitlements"),
    path("invoices/", api_invoicing.InvoiceListApi.as_view(), name="invoices"),
    path("invoices/<int:pk>/", api_invoicing.InvoiceDetailApi.as_view(), name="invoice"),
    path(
        "outcome-statements/",
        api_invoicing.OutcomeStatementListApi.as_view(),
        name="outcome-statements",
    ),
    path(
        "outcome-statements/<int:pk>/",
        api_invoicing.OutcomeStatementDetailApi.as_view(),
        name="outcome-statement",
    ),
    path(
        "outcome-statements/<int:pk>/lines/<int:line_pk>/accept",
        api_invoicing.OutcomeLineAcceptApi.as_view(),
        name="outcome-line-accept",
    ),
    path(
        "outcome-statements/<int:pk>/lines/<int:line_pk>/dispute",
        api_invoicing.OutcomeLineDisputeApi.as_view(),
        name="outcome-line-dispute",
    ),
    path(
        "outcome-statements/<int:pk>/lines/<int:line_pk>/answer",
        api_invoicing.OutcomeLineAnswerApi.as_view(),
        name="outcome-line-answer",
    ),
]

urlpatterns = [
    path("v1/", include((v1, "v1"), namespace="v1")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="api-docs"),
]
