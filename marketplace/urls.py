"""URL table.

Pages for people are inside i18n_patterns: English at /, Simplified Chinese under /zh-hans/.
Machine and staff endpoints (API, admin, CMS admin, webhooks) have one address each.
"""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.api.v2.router import WagtailAPIRouter
from wagtail.api.v2.views import PagesAPIViewSet
from wagtail.contrib.sitemaps import Sitemap as WagtailSitemap
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls
from wagtail.documents.api.v2.views import DocumentsAPIViewSet
from wagtail.images.api.v2.views import ImagesAPIViewSet

from billing.webhooks import stripe_webhook
from cms import views as cms_views
from marketplace import health
from marketplace.storefront.sitemaps import ListingSitemap

cms_api = WagtailAPIRouter("wagtailapi")
cms_api.register_endpoint("pages", PagesAPIViewSet)
cms_api.register_endpoint("images", ImagesAPIViewSet)
cms_api.register_endpoint("documents", DocumentsAPIViewSet)

urlpatterns = [
    path("django-admin/", admin.site.urls),
    # Editors sign in where everyone does, with their second factor; Wagtail's own form
    # would take a password alone.
    path("cms/login/", RedirectView.as_view(pattern_name="account_login", query_string=True)),
    path("cms/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("api/cms/v2/", cms_api.urls),
    path("api/", include(("marketplace.api", "api"), namespace="api")),
    path("billing/webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path(
        "sitemap.xml",
        sitemap,
        {"sitemaps": {"pages": WagtailSitemap, "listings": ListingSitemap}},
    ),
]

urlpatterns += i18n_patterns(
    path("accounts/", include("allauth.urls")),
    path("orgs/", include("marketplace.accounts.urls")),
    path("catalog/", include("marketplace.storefront.urls")),
    path("subscriptions/", include("marketplace.storefront.subscriptions_urls")),
    path("billing/", include("marketplace.storefront.billing_urls")),
    path("vendors/", include("marketplace.vendors.urls")),
    path("community/", include("marketplace.community.urls")),
    path("search/", cms_views.search, name="search"),
    # Wagtail serves every other path, starting with the home page at /.
    path("", include(wagtail_urls)),
    prefix_default_language=False,
)

if settings.DEBUG:
    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
