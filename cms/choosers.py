"""Admin choosers over catalog data: editors pick published listings for pages and blocks.

Read-only: a chooser lists what the catalog publishes and never creates or edits a listing
(listings are written by the catalog's services, in the vendor portal).
"""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.views.generic.chooser import ChooseResultsView, ChooseView
from wagtail.admin.viewsets.chooser import ChooserViewSet

from marketplace.catalog import selectors as catalog


class PublishedListingsMixin:
    def get_object_list(self):
        return catalog.published_listings().select_related("vendor").order_by("name", "pk")


class ListingChooseView(PublishedListingsMixin, ChooseView):
    pass


class ListingChooseResultsView(PublishedListingsMixin, ChooseResultsView):
    pass


class ListingChooserViewSet(ChooserViewSet):
    model = "catalog.Listing"
    icon = "list-ul"
    choose_one_text = _("Choose a listing")
    choose_another_text = _("Choose another listing")
    edit_item_text = _("Edit listing")
    choose_view_class = ListingChooseView
    choose_results_view_class = ListingChooseResultsView
    per_page = 20


listing_chooser_viewset = ListingChooserViewSet("listing_chooser", url_prefix="listings/choose")
