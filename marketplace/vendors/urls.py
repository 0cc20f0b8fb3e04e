from django.urls import path

from marketplace.vendors import plans, views

app_name = "vendors"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("listings/new/", views.listing_create, name="listing_create"),
    path("listings/<slug:slug>/edit/", views.listing_edit, name="listing_edit"),
    path("listings/<slug:slug>/versions/", views.listing_versions, name="listing_versions"),
    path("listings/<slug:slug>/media/", views.listing_media, name="listing_media"),
    path(
        "listings/<slug:slug>/media/<int:pk>/remove/",
        views.listing_image_remove,
        name="listing_image_remove",
    ),
    path("listings/<slug:slug>/pricing/", plans.listing_pricing, name="listing_pricing"),
    path("listings/<slug:slug>/pricing/metrics/new/", plans.metric_create, name="metric_create"),
    path("listings/<slug:slug>/pricing/plans/new/", plans.plan_create, name="plan_create"),
    path("listings/<slug:slug>/pricing/plans/<int:pk>/", plans.plan_edit, name="plan_edit"),
    path(
        "listings/<slug:slug>/pricing/plans/<int:pk>/offer/",
        plans.plan_offer,
        name="plan_offer",
    ),
    path("listings/<slug:slug>/submit/", views.listing_submit, name="listing_submit"),
    path("listings/<slug:slug>/archive/", views.listing_archive, name="listing_archive"),
    path("verification/<slug:slug>/", views.verification_request, name="verification_request"),
    path("moderation/", views.moderation_queue, name="moderation_queue"),
    path("moderation/<slug:slug>/", views.moderation_detail, name="moderation_detail"),
    path("moderation/<slug:slug>/approve/", views.moderation_approve, name="moderation_approve"),
    path("moderation/<slug:slug>/reject/", views.moderation_reject, name="moderation_reject"),
    path("moderation/<slug:slug>/suspend/", views.moderation_suspend, name="moderation_suspend"),
    path(
        "moderation/<slug:slug>/reinstate/",
        views.moderation_reinstate,
        name="moderation_reinstate",
    ),
    # After the listing pages: /moderation/vendors/approve/ approves a listing slugged "vendors"
    # (organization slugs never take these words: accounts.services.RESERVED_SLUGS).
    path("moderation/vendors/<slug:slug>/", views.moderation_vendor, name="moderation_vendor"),
    path(
        "moderation/vendors/<slug:slug>/verify/",
        views.moderation_vendor_verify,
        name="moderation_vendor_verify",
    ),
    path(
        "moderation/vendors/<slug:slug>/reject/",
        views.moderation_vendor_reject,
        name="moderation_vendor_reject",
    ),
    path(
        "moderation/vendors/<slug:slug>/revoke/",
        views.moderation_vendor_revoke,
        name="moderation_vendor_revoke",
    ),
]

# The Billing pages of a vendor organization. Appended, with their import, so that this block
# stays separate from the listing pages above.
from marketplace.vendors import billing  # noqa: E402

urlpatterns += [
    path("billing/<slug:slug>/", billing.billing_dashboard, name="billing"),
    path("billing/<slug:slug>/customers/", billing.customers, name="customers"),
    path("billing/<slug:slug>/invoices/", billing.invoices, name="invoices"),
    path(
        "billing/<slug:slug>/customers/<int:pk>/baselines/",
        billing.customer_baselines,
        name="customer_baselines",
    ),
    path(
        "billing/<slug:slug>/customers/<int:pk>/baselines/<int:baseline>/agree/",
        billing.baseline_agree,
        name="baseline_agree",
    ),
]

# A vendor organization's payouts (marketplace/vendors/payouts.py).
from marketplace.vendors import payouts  # noqa: E402

urlpatterns += [
    path("billing/<slug:slug>/payouts/", payouts.payout_list, name="payouts"),
    path("billing/<slug:slug>/payouts/connect/", payouts.connect_start, name="payouts_connect"),
    path("billing/<slug:slug>/payouts/<int:pk>/", payouts.payout_detail, name="payout_detail"),
    path(
        "billing/<slug:slug>/payouts/<int:pk>/export.csv",
        payouts.payout_csv,
        name="payout_csv",
    ),
    path(
        "billing/<slug:slug>/payouts/<int:pk>/paid/",
        payouts.payout_mark_paid,
        name="payout_mark_paid",
    ),
    path(
        "billing/<slug:slug>/payouts/<int:pk>/transfer/",
        payouts.payout_transfer,
        name="payout_transfer",
    ),
]
