from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from marketplace.accounts.models import (
    Invitation,
    Membership,
    Organization,
    User,
    VerificationEvent,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class VerificationEventInline(admin.TabularInline):
    """The verification history, read-only: steps are taken on the staff verification page."""

    model = VerificationEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "action", "actor", "legal_name", "registration_number", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "is_buyer",
        "is_vendor",
        "verification_status",
        "time_zone",
        "created_at",
    ]
    list_filter = ["verification_status", "is_buyer", "is_vendor"]
    search_fields = ["name", "slug", "legal_name", "registration_number"]
    prepopulated_fields = {"slug": ["name"]}
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Verification changes only through its services, which keep the history and email the
    # vendor; the admin shows it and links to the page where staff decide.
    readonly_fields = [
        "verification_status",
        "legal_name",
        "registration_number",
        "verification_requested_at",
        "verified_at",
        "verification_reason",
        "verification_page",
    ]
    fieldsets = (
        (None, {"fields": ("name", "slug", "is_buyer", "is_vendor", "time_zone", "website")}),
        (
            _("Verification"),
            {
                "fields": (
                    "verification_status",
                    "legal_name",
                    "registration_number",
                    "verification_requested_at",
                    "verified_at",
                    "verification_reason",
                    "verification_page",
                )
            },
        ),
    )
    inlines = [MembershipInline, VerificationEventInline]

    @admin.display(description=_("Decide"))
    def verification_page(self, obj: Organization) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("vendors:moderation_vendor", args=[obj.slug])
        return format_html('<a href="{}">{}</a>', url, _("Open the verification page"))


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "organization__name"]
    readonly_fields = ["key", "invited_by", "accepted_by", "responded_at"]
