"""The catalog in the Django admin, for support.

A listing's status changes only through the moderation pages (vendors:moderation_*), which
record the step and email the vendor; here it is read-only. Moderation history is never edited.
"""

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from marketplace.catalog.freshness import catalog_changed
from marketplace.catalog.models import (
    KpiClaim,
    Listing,
    ListingVersion,
    ModerationEvent,
    Review,
    Term,
)
from marketplace.catalog.services import listing_search_document

URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ["kind", "slug", "name", "name_zh_hans", "position"]
    list_filter = ["kind"]
    search_fields = ["slug", "name", "name_zh_hans"]
    ordering = ["kind", "position", "name"]

    # Facets and their labels are cached with the catalog: a change shows at once.
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        catalog_changed()

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        catalog_changed()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        catalog_changed()


class KpiClaimInline(admin.TabularInline):
    model = KpiClaim
    extra = 0
    formfield_overrides = URL_FIELDS


class ListingVersionInline(admin.TabularInline):
    model = ListingVersion
    extra = 0
    fields = ["version", "released_on", "artifact_sha256"]
    show_change_link = True


class ModerationEventInline(admin.TabularInline):
    model = ModerationEvent
    extra = 0
    fields = ["created_at", "actor", "action", "from_status", "to_status", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "kind", "status", "published_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "slug", "tagline", "vendor__name"]
    list_select_related = ["vendor"]
    autocomplete_fields = ["vendor"]
    filter_horizontal = ["terms", "components"]
    readonly_fields = [
        "status",
        "published_at",
        "rating_average",
        "rating_count",
        "created_at",
        "updated_at",
    ]
    formfield_overrides = URL_FIELDS
    inlines = [KpiClaimInline, ListingVersionInline, ModerationEventInline]
    fieldsets = (
        (None, {"fields": ["vendor", "kind", "name", "slug", "tagline", "description"]}),
        (_("Status (change it on the moderation pages)"), {"fields": ["status", "published_at"]}),
        (_("Facets and components"), {"fields": ["terms", "components"]}),
        (
            _("Footprint"),
            {
                "fields": [
                    "deploy_minutes",
                    "min_ram_mb",
                    "cpu_cores",
                    "works_offline",
                    "edge_hardware",
                ]
            },
        ),
        (_("Links and licence"), {"fields": ["license", "repository_url", "website"]}),
        (
            _("Ratings and dates"),
            {"fields": ["rating_average", "rating_count", "created_at", "updated_at"]},
        ),
    )

    def has_add_permission(self, request) -> bool:
        # Listings start as drafts in the vendor portal, which records who created them.
        return False

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Keep search in step with what support changed (services do this for vendors).
        listing = form.instance
        listing.search_document = listing_search_document(listing)
        listing.save(update_fields=["search_document"])
        catalog_changed()


@admin.register(ListingVersion)
class ListingVersionAdmin(admin.ModelAdmin):
    list_display = ["listing", "version", "released_on", "created_at"]
    search_fields = ["listing__name", "version"]
    list_select_related = ["listing"]
    autocomplete_fields = ["listing"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["listing", "organization", "rating", "title", "created_at"]
    list_filter = ["rating"]
    search_fields = ["listing__name", "organization__name", "title"]
    list_select_related = ["listing", "organization"]
    readonly_fields = ["listing", "organization", "author", "rating", "created_at", "replied_at"]


@admin.register(ModerationEvent)
class ModerationEventAdmin(admin.ModelAdmin):
    """Read-only: the history is a record of what happened."""

    list_display = ["created_at", "listing", "action", "from_status", "to_status", "actor"]
    list_filter = ["action"]
    search_fields = ["listing__name", "actor__email", "reason"]
    list_select_related = ["listing", "actor"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
