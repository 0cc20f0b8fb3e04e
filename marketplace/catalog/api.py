"""Catalog API: the public read API and the vendor write API for listings and versions."""

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.accounts.policies import Permission, object_for, organization_for
from marketplace.catalog import selectors, services
from marketplace.catalog.models import Listing, Term

# --- Output ------------------------------------------------------------------------------------


class VendorOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()


class TermsOutputSerializer(serializers.Serializer):
    industries = serializers.ListField(child=serializers.SlugField())
    scenarios = serializers.ListField(child=serializers.SlugField())
    deployment = serializers.ListField(child=serializers.SlugField())
    protocols = serializers.ListField(child=serializers.SlugField())
    pricing = serializers.ListField(child=serializers.SlugField())


TERM_GROUPS = {
    Term.Kind.INDUSTRY: "industries",
    Term.Kind.SCENARIO: "scenarios",
    Term.Kind.DEPLOYMENT: "deployment",
    Term.Kind.PROTOCOL: "protocols",
    Term.Kind.PRICING: "pricing",
}


def _terms(listing: Listing) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {group: [] for group in TERM_GROUPS.values()}
    for term in listing.terms.all():  # prefetched
        grouped[TERM_GROUPS[term.kind]].append(term.slug)
    return grouped


class ListingOutputSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Listing.Kind.choices)
    status = serializers.ChoiceField(choices=Listing.Status.choices)
    tagline = serializers.CharField()
    vendor = VendorOutputSerializer()
    rating_average = serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True)
    rating_count = serializers.IntegerField()
    deploy_minutes = serializers.IntegerField(allow_null=True)
    min_ram_mb = serializers.IntegerField(allow_null=True)
    cpu_cores = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    works_offline = serializers.BooleanField()
    edge_hardware = serializers.CharField()
    license = serializers.CharField()
    repository_url = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    terms = serializers.SerializerMethodField()

    @extend_schema_field(TermsOutputSerializer)
    def get_terms(self, listing: Listing) -> dict[str, list[str]]:
        return _terms(listing)


class VersionOutputSerializer(serializers.Serializer):
    version = serializers.CharField()
    released_on = serializers.DateField()
    changelog = serializers.CharField()
    artifact_sha256 = serializers.CharField()


class KpiClaimOutputSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()
    evidence_url = serializers.CharField()


class ListingDetailOutputSerializer(ListingOutputSerializer):
    description = serializers.CharField(help_text="Markdown, as the vendor wrote it.")
    website = serializers.CharField()
    versions = VersionOutputSerializer(many=True)
    kpi_claims = KpiClaimOutputSerializer(many=True)
    components = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    plans = serializers.SerializerMethodField(
        help_text="Published pricing plans (filled in by billing once plans exist)."
    )

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_components(self, listing: Listing) -> list[str]:
        return [c.slug for c in getattr(listing, "published_components", [])]

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_images(self, listing: Listing) -> list[str]:
        request = self.context.get("request")
        return [
            request.build_absolute_uri(image.image.url) if request else image.image.url
            for image in listing.images.all()
        ]

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_plans(self, listing: Listing) -> list[dict]:
        return []


# --- Public read API ---------------------------------------------------------------------------


class CommaSeparatedSlugs(django_filters.BaseInFilter, django_filters.CharFilter):
    """`?industry=electronics,textiles` (values of one facet are alternatives)."""


class ListingFilter(django_filters.FilterSet):
    """The catalog's filters; the search itself is catalog.selectors.catalog_search."""

    q = django_filters.CharFilter(label="Full-text search")
    kind = django_filters.ChoiceFilter(choices=Listing.Kind.choices)
    industry = CommaSeparatedSlugs(label="Industry slugs, comma-separated")
    scenario = CommaSeparatedSlugs(label="Scenario slugs, comma-separated")
    deployment = CommaSeparatedSlugs(label="Deployment slugs, comma-separated")
    protocol = CommaSeparatedSlugs(label="Protocol slugs, comma-separated")
    pricing = CommaSeparatedSlugs(label="Pricing model slugs, comma-separated")
    sort = django_filters.ChoiceFilter(choices=[(key, key) for key in selectors.SORTS])

    class Meta:
        model = Listing
        fields: list[str] = []

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        query = selectors.CatalogQuery(
            q=data.get("q") or "",
            kind=data.get("kind") or "",
            terms={
                kind: tuple(data.get(kind) or ())
                for kind in ("industry", "scenario", "deployment", "protocol", "pricing")
            },
            sort=data.get("sort") or "relevance",
        )
        return selectors.catalog_search(query, with_facets=False).listings


class ListingListApi(ListAPIView):
    """Published listings, filtered like the storefront catalog."""

    permission_classes = [AllowAny]
    serializer_class = ListingOutputSerializer
    filterset_class = ListingFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    queryset = Listing.objects.none()  # the filter set builds the real one

    def get_queryset(self):
        return selectors.published_listings()


class ListingDetailApi(APIView):
    """One published listing with its versions, claims, components and plans."""

    permission_classes = [AllowAny]

    @extend_schema(responses=ListingDetailOutputSerializer)
    def get(self, request, slug: str):
        listing = selectors.listing_page(slug)
        if listing is None:
            from django.http import Http404

            raise Http404
        return Response(ListingDetailOutputSerializer(listing, context={"request": request}).data)


# --- Vendor write API --------------------------------------------------------------------------


class KpiClaimInputSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=120)
    value = serializers.CharField(max_length=60)
    evidence_url = serializers.URLField(required=False, allow_blank=True, default="")


class ListingInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Listing.Kind.choices, required=False)
    name = serializers.CharField(max_length=120)
    tagline = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    deploy_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    min_ram_mb = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    cpu_cores = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, min_value=0
    )
    works_offline = serializers.BooleanField(required=False)
    edge_hardware = serializers.CharField(required=False, allow_blank=True, max_length=200)
    license = serializers.CharField(required=False, allow_blank=True, max_length=200)
    repository_url = serializers.URLField(required=False, allow_blank=True)
    website = serializers.URLField(required=False, allow_blank=True)
    terms = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text='Facet values as "kind:slug", for example "industry:electronics".',
    )
    kpi_claims = KpiClaimInputSerializer(many=True, required=False)

    def validate_terms(self, values: list[str]) -> list[Term]:
        wanted = set()
        for value in values:
            kind, _, slug = value.partition(":")
            wanted.add((kind, slug))
        found = {(t.kind, t.slug): t for t in Term.objects.all()}
        unknown = sorted(f"{k}:{s}" for k, s in wanted if (k, s) not in found)
        if unknown:
            raise serializers.ValidationError(f"Unknown terms: {', '.join(unknown)}.")
        return [found[key] for key in wanted]

    def to_service_kwargs(self) -> dict:
        data = dict(self.validated_data)
        if "kpi_claims" in data:
            data["kpi_claims"] = [services.KpiClaimInput(**claim) for claim in data["kpi_claims"]]
        return data


class ListingCreateInputSerializer(ListingInputSerializer):
    vendor = serializers.SlugField(help_text="Slug of your vendor organization.")


class VendorListingListCreateApi(APIView):
    """Listings of the caller's vendor organizations (any status); create a draft."""

    @extend_schema(responses=ListingOutputSerializer(many=True))
    def get(self, request):
        listings = selectors.vendor_listings(request.user).prefetch_related("terms")
        return Response(ListingOutputSerializer(listings, many=True).data)

    @extend_schema(
        request=ListingCreateInputSerializer, responses={201: ListingDetailOutputSerializer}
    )
    def post(self, request):
        data = ListingCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = data.to_service_kwargs()
        vendor = organization_for(request.user, kwargs.pop("vendor"), Permission.PUBLISH)
        listing = services.listing_create(actor=request.user, vendor=vendor, **kwargs)
        return Response(
            ListingDetailOutputSerializer(
                selectors.listing_page(listing.slug, viewer=request.user),
                context={"request": request},
            ).data,
            status=status.HTTP_201_CREATED,
        )


def _own_listing(request, slug: str) -> Listing:
    return object_for(
        Listing.objects.select_related("vendor"), request.user, via="vendor", slug=slug
    )


class VendorListingDetailApi(APIView):
    """One of the caller's listings: read it in any status, or change it."""

    @extend_schema(responses=ListingDetailOutputSerializer)
    def get(self, request, slug: str):
        _own_listing(request, slug)
        listing = selectors.listing_page(slug, viewer=request.user)
        return Response(ListingDetailOutputSerializer(listing, context={"request": request}).data)

    @extend_schema(request=ListingInputSerializer, responses=ListingDetailOutputSerializer)
    def patch(self, request, slug: str):
        listing = _own_listing(request, slug)
        data = ListingInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.listing_update(actor=request.user, listing=listing, **data.to_service_kwargs())
        listing = selectors.listing_page(slug, viewer=request.user)
        return Response(ListingDetailOutputSerializer(listing, context={"request": request}).data)


class VendorListingSubmitApi(APIView):
    """Send a draft to Precis staff for review."""

    @extend_schema(request=None, responses=ListingOutputSerializer)
    def post(self, request, slug: str):
        listing = services.listing_submit(actor=request.user, listing=_own_listing(request, slug))
        return Response(ListingOutputSerializer(listing).data)


class VersionInputSerializer(serializers.Serializer):
    version = serializers.CharField(max_length=60)
    changelog = serializers.CharField(required=False, allow_blank=True, default="")
    released_on = serializers.DateField(required=False, allow_null=True)
    artifact_sha256 = serializers.CharField(required=False, allow_blank=True, default="")


class VendorListingVersionCreateApi(APIView):
    """Add a release to one of the caller's listings."""

    @extend_schema(request=VersionInputSerializer, responses={201: VersionOutputSerializer})
    def post(self, request, slug: str):
        listing = _own_listing(request, slug)
        data = VersionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.version_add(actor=request.user, listing=listing, **data.validated_data)
        return Response(VersionOutputSerializer(version).data, status=status.HTTP_201_CREATED)
