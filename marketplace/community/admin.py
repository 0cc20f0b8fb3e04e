"""Django admin for support staff: maintainers can be added here; contributions, reports and the
history are read here and changed only through the community pages (so events are recorded)."""

from django.contrib import admin

from marketplace.community.models import (
    AbuseReport,
    Comment,
    CommunityEvent,
    Contribution,
    Maintainer,
    Sbom,
)


@admin.register(Maintainer)
class MaintainerAdmin(admin.ModelAdmin):
    list_display = ["listing", "user", "added_at"]
    search_fields = ["listing__name", "user__email"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["listing"]


@admin.register(Sbom)
class SbomAdmin(admin.ModelAdmin):
    list_display = ["version", "format", "spec_version", "package_count", "uploaded_at"]
    list_filter = ["format"]
    readonly_fields = ["summary", "sha256", "uploaded_by", "uploaded_at"]
    raw_id_fields = ["version"]


class CommentInline(admin.TabularInline):
    model = Comment
    extra = 0
    fields = ["author", "body", "hidden", "created_at"]
    readonly_fields = ["author", "body", "created_at"]


class EventInline(admin.TabularInline):
    model = CommunityEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "actor", "action", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Contribution)
class ContributionAdmin(admin.ModelAdmin):
    list_display = ["pk", "kind", "title", "author", "status", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["author__email", "listing__name", "summary"]
    readonly_fields = [
        "kind", "status", "listing", "author", "summary", "proposed", "original",
        "decided_by", "decision_reason", "decided_at", "created_at",
    ]  # fmt: skip
    inlines = [CommentInline, EventInline]


@admin.register(AbuseReport)
class AbuseReportAdmin(admin.ModelAdmin):
    list_display = ["pk", "contribution", "comment", "reporter", "status", "created_at"]
    list_filter = ["status"]
    readonly_fields = [
        "contribution", "comment", "reporter", "reason", "status", "resolved_by",
        "resolved_at", "created_at",
    ]  # fmt: skip


@admin.register(CommunityEvent)
class CommunityEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "contribution", "action", "actor"]
    list_filter = ["action"]
    readonly_fields = ["contribution", "comment", "actor", "action", "reason", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
