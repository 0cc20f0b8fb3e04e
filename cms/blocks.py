"""StreamField blocks that pages are composed of (home, landing pages, guides, case studies, news).

Blocks that show catalog data never query per block or per listing: chosen listings are loaded
for the whole page at once (ListingChooserBlock.bulk_to_python, one selector call for every
featured-listings block of the page), and the catalog's own sections (featured, new, industries)
are read once by the page's get_context and handed to the blocks in the template context.
"""

from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from wagtail import blocks

from cms.choosers import listing_chooser_viewset
from marketplace.catalog import selectors as catalog

RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "link", "ol", "ul"]
ANSWER_FEATURES = ["bold", "italic", "link", "ol", "ul"]


BaseListingChooserBlock = listing_chooser_viewset.get_block_class(
    name="BaseListingChooserBlock", module_path="cms.blocks"
)


class ListingChooserBlock(BaseListingChooserBlock):
    """A published catalog listing, loaded with what its card shows."""

    def bulk_to_python(self, values):
        values = list(values)
        wanted = [value for value in values if isinstance(value, int)]
        found = catalog.with_card_data(catalog.published_listings().filter(pk__in=wanted))
        by_pk = {listing.pk: listing for listing in found} if wanted else {}
        return [by_pk.get(value) for value in values]

    def to_python(self, value):
        if value is None or not isinstance(value, int):
            return super().to_python(value)
        return self.bulk_to_python([value])[0]


class LinkBlock(blocks.StructBlock):
    """A link to a page of this site or to an address (a path such as /catalog/ or a URL)."""

    label = blocks.CharBlock(label=_("label"), max_length=60)
    page = blocks.PageChooserBlock(label=_("page"), required=False)
    url = blocks.CharBlock(label=_("address"), max_length=300, required=False)

    class Meta:
        icon = "link"
        value_class = blocks.StructValue


class HeroBlock(blocks.StructBlock):
    title = blocks.CharBlock(label=_("title"), max_length=160)
    intro = blocks.TextBlock(label=_("introduction"), max_length=600, required=False)
    cta_label = blocks.CharBlock(label=_("button label"), max_length=60)
    cta_url = blocks.CharBlock(
        label=_("button address"),
        max_length=300,
        required=False,
        help_text=_("Leave empty to link to sign-up."),
    )
    show_search = blocks.BooleanBlock(
        label=_("show the catalog search"), default=True, required=False
    )

    class Meta:
        icon = "pick"
        label = _("Hero")
        template = "cms/blocks/hero.html"


class FeaturedListingsBlock(blocks.StructBlock):
    """Listing cards: chosen by the editor, or the catalog's best rated or newest."""

    SOURCES = [
        ("featured", _("Best rated in the catalog")),
        ("new", _("Newest in the catalog")),
        ("chosen", _("Listings chosen below")),
    ]

    eyebrow = blocks.CharBlock(label=_("eyebrow"), max_length=80, required=False)
    heading = blocks.CharBlock(label=_("heading"), max_length=120)
    source = blocks.ChoiceBlock(label=_("listings"), choices=SOURCES, default="featured")
    listings = blocks.ListBlock(
        ListingChooserBlock(label=_("listing")), label=_("chosen listings"), default=[]
    )

    class Meta:
        icon = "list-ul"
        label = _("Featured listings")
        template = "cms/blocks/featured_listings.html"

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        if value["source"] == "chosen":
            listings = [listing for listing in value["listings"] if listing is not None]
        else:
            sections = (parent_context or {}).get("catalog_sections") or {}
            listings = sections.get(value["source"], [])
        context["listings"] = listings
        context["sort"] = {"featured": "rating", "new": "newest"}.get(value["source"], "")
        return context


class IndustryTilesBlock(blocks.StructBlock):
    """The catalog's industries with their number of published listings."""

    eyebrow = blocks.CharBlock(label=_("eyebrow"), max_length=80, required=False)
    heading = blocks.CharBlock(label=_("heading"), max_length=120)

    class Meta:
        icon = "table"
        label = _("Industry tiles")
        template = "cms/blocks/industry_tiles.html"


class CaseStudyTeaserBlock(blocks.StructBlock):
    eyebrow = blocks.CharBlock(label=_("eyebrow"), max_length=80, required=False)
    page = blocks.PageChooserBlock(label=_("case study"), page_type="cms.CaseStudyPage")

    class Meta:
        icon = "doc-full"
        label = _("Case study")
        template = "cms/blocks/case_study_teaser.html"


class CallToActionBlock(blocks.StructBlock):
    title = blocks.CharBlock(label=_("title"), max_length=120)
    text = blocks.TextBlock(label=_("text"), max_length=400, required=False)
    button = LinkBlock(label=_("button"))

    class Meta:
        icon = "pick"
        label = _("Call to action")
        template = "cms/blocks/call_to_action.html"


class FaqItemBlock(blocks.StructBlock):
    question = blocks.CharBlock(label=_("question"), max_length=200)
    answer = blocks.RichTextBlock(label=_("answer"), features=ANSWER_FEATURES)


class FaqBlock(blocks.StructBlock):
    heading = blocks.CharBlock(label=_("heading"), max_length=120, required=False)
    items = blocks.ListBlock(FaqItemBlock(), label=_("questions"))

    class Meta:
        icon = "help"
        label = _("FAQ")
        template = "cms/blocks/faq.html"


class StandardSectionBlock(blocks.StructBlock):
    """One of the site's own sections, written in its templates and translated with the site."""

    SECTIONS = [
        ("payment_models", _("How you pay (trial, subscription, outcomes)")),
        ("shop_floor", _("Built for the shop floor")),
    ]
    section = blocks.ChoiceBlock(label=_("section"), choices=SECTIONS)

    class Meta:
        icon = "placeholder"
        label = _("Standard section")
        template = "cms/blocks/standard_section.html"


class RichTextSectionBlock(blocks.RichTextBlock):
    class Meta:
        icon = "pilcrow"
        label = _("Rich text")
        template = "cms/blocks/rich_text.html"


def _plain_number(value: Decimal) -> str:
    """2.4000 -> "2.4", 1200.0000 -> "1,200": no trailing zeros, grouped for the language."""
    value = value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
    return number_format(value, force_grouping=True)


class OutcomeValue(blocks.StructValue):
    def before_text(self) -> str:
        return _plain_number(self["before"])

    def after_text(self) -> str:
        return _plain_number(self["after"])

    def change_percent(self) -> Decimal | None:
        """The change from before to after, in per cent of before (None when before is 0)."""
        before, after = self.get("before"), self.get("after")
        if before is None or after is None or before == 0:
            return None
        return ((after - before) / before * 100).quantize(Decimal("0.1"))


class OutcomeBlock(blocks.StructBlock):
    """A measured outcome: the same metric before and after, in one unit."""

    metric = blocks.CharBlock(label=_("metric"), max_length=120)
    before = blocks.DecimalBlock(label=_("before"), max_digits=14, decimal_places=4)
    after = blocks.DecimalBlock(label=_("after"), max_digits=14, decimal_places=4)
    unit = blocks.CharBlock(label=_("unit"), max_length=30, required=False)
    period = blocks.CharBlock(
        label=_("measured over"), max_length=60, required=False, help_text=_("e.g. 3 months")
    )

    class Meta:
        icon = "order"
        label = _("Outcome")
        value_class = OutcomeValue


class HomeBodyBlock(blocks.StreamBlock):
    """What the home page and landing pages are built from."""

    hero = HeroBlock()
    featured_listings = FeaturedListingsBlock()
    industry_tiles = IndustryTilesBlock()
    case_study = CaseStudyTeaserBlock()
    call_to_action = CallToActionBlock()
    rich_text = RichTextSectionBlock(features=RICH_TEXT_FEATURES)
    faq = FaqBlock()
    standard_section = StandardSectionBlock()


class ArticleBodyBlock(blocks.StreamBlock):
    """What guides, case studies and news are written with."""

    rich_text = RichTextSectionBlock(features=RICH_TEXT_FEATURES)
    featured_listings = FeaturedListingsBlock()
    faq = FaqBlock()
    call_to_action = CallToActionBlock()


def catalog_sources(stream) -> set[str]:
    """Which catalog sections ("featured", "new", "industries") a stream's blocks show.

    Reads the raw stream data, so that asking converts no block and runs no query.
    """
    sources = set()
    for item in stream.raw_data:
        if item["type"] == "featured_listings":
            source = (item.get("value") or {}).get("source")
            if source in {"featured", "new"}:
                sources.add(source)
        elif item["type"] == "industry_tiles":
            sources.add("industries")
    return sources
