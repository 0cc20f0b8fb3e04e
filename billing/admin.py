"""Payments in the Django admin, for support: Stripe's webhook events (failed ones with their
error, and an action to process them again), card payments, saved cards and payouts, all
read-only (money moves only through billing.services); and each vendor's payout terms (its
platform fee, when it differs from PRECIS_PLATFORM_FEE_PERCENT), which staff set here."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from billing.models import Payment, PaymentMethod, Payout, StripeEvent, VendorPayoutAccount
from billing.services.stripe_events import stripe_events_replay


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnly):
    list_display = ["event_id", "type", "status", "attempts", "error", "received_at"]
    list_filter = ["status", "type"]
    search_fields = ["event_id", "error"]
    date_hierarchy = "received_at"
    actions = ["process_again"]

    @admin.action(description=_("Process again"), permissions=["view"])
    def process_again(self, request, queryset) -> None:
        events = stripe_events_replay(event_ids=list(queryset.values_list("event_id", flat=True)))
        failed = sum(event.status == StripeEvent.Status.FAILED for event in events)
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(
            request,
            _("%(count)d event(s) processed again, %(failed)d still failing.")
            % {"count": len(events), "failed": failed},
            level,
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnly):
    list_display = ["invoice", "attempt", "status", "amount", "currency", "error_code", "retry_at"]
    list_filter = ["status"]
    search_fields = ["invoice__number", "stripe_payment_intent_id", "idempotency_key"]
    list_select_related = ["invoice"]


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ReadOnly):
    list_display = ["account", "brand", "last4", "exp_month", "exp_year", "created_at"]
    search_fields = ["account__organization__name", "stripe_id"]
    list_select_related = ["account__organization"]


@admin.register(Payout)
class PayoutAdmin(ReadOnly):
    list_display = ["vendor", "period_start", "currency", "amount", "status", "paid_at"]
    list_filter = ["status", "currency"]
    search_fields = ["vendor__name", "reference"]
    list_select_related = ["vendor"]


@admin.register(VendorPayoutAccount)
class VendorPayoutAccountAdmin(admin.ModelAdmin):
    list_display = ["organization", "platform_fee_percent", "stripe_account_id", "payout_email"]
    search_fields = ["organization__name", "stripe_account_id"]
    autocomplete_fields = ["organization"]
