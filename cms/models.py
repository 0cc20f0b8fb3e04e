"""Wagtail page models and snippets: the editorial side of Precis, edited by staff in /cms/.

Every page exists once per language: the Simplified Chinese page is a Wagtail translation (a
copy in the zh-hans locale) of the English one and is served under /zh-hans/. Pages read the
catalog through selectors (cms.selectors, marketplace.catalog.selectors) and never write to it.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.fields import StreamField
from wagtail.models import Orderable, Page, TranslatableMixin
from wagtail.search import index

from cms import selectors
from cms.blocks import ArticleBodyBlock, HomeBodyBlock, OutcomeBlock
from cms.choosers import listing_chooser_viewset


class BlocksPage(Page):
    """A page whose `body` is a StreamField: its context carries what the blocks read (the
    listings they show, loaded once for the whole page; see selectors.stream_context)."""

    body: StreamField

    class Meta:
        abstract = True

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(selectors.stream_context(self.body))
        return context


class HomePage(BlocksPage):
    """The front page at `/`: what Precis offers SMEs and vendors, composed from blocks.

    One per language: the Chinese home page is a translation of the English one.
    """

    body = StreamField(HomeBodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("body")]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "cms.LandingPage",
        "cms.GuideIndexPage",
        "cms.CaseStudyIndexPage",
        "cms.NewsIndexPage",
    ]
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("home page")

    def hero(self):
        """The first hero block's value (for the page's meta tags), or None."""
        return selectors.first_hero(self.body)


class LandingPage(BlocksPage):
    """A campaign or topic page (an industry, a programme) composed from the same blocks."""

    intro = models.TextField(_("introduction"), max_length=600, blank=True)
    body = StreamField(HomeBodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("body"),
    ]
    parent_page_types = ["cms.HomePage", "cms.LandingPage"]
    subpage_types = ["cms.LandingPage"]

    class Meta:
        verbose_name = _("landing page")

    def hero(self):
        return selectors.first_hero(self.body)


class IndexPage(Page):
    """Shared by the index pages: a heading, an introduction and a paginated list of children."""

    intro = models.TextField(_("introduction"), max_length=600, blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]
    parent_page_types = ["cms.HomePage"]
    child_model: type[Page]
    per_page = 12

    class Meta:
        abstract = True

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context.update(
            selectors.children_page(
                self, self.child_model, number=request.GET.get("page"), per_page=self.per_page
            )
        )
        return context


class GuidePage(BlocksPage):
    """A how-to for buyers or vendors (choosing, deploying, paying for industrial software)."""

    intro = models.TextField(_("introduction"), max_length=600)
    body = StreamField(ArticleBodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("body"),
    ]
    parent_page_types = ["cms.GuideIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("guide")


class GuideIndexPage(IndexPage):
    """The list of guides."""

    subpage_types = ["cms.GuidePage"]
    child_model = GuidePage

    class Meta:
        verbose_name = _("guide index")


class CaseStudyPage(BlocksPage):
    """How a plant used listings from the catalog, and what it measured before and after."""

    customer = models.CharField(_("customer"), max_length=120)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    summary = models.TextField(_("summary"), max_length=600)
    outcomes = StreamField(
        [("outcome", OutcomeBlock())],
        verbose_name=_("measured outcomes"),
        blank=True,
    )
    body = StreamField(ArticleBodyBlock(), verbose_name=_("story"), blank=True)

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [FieldPanel("customer"), FieldPanel("industry"), FieldPanel("summary")],
            heading=_("Customer"),
        ),
        InlinePanel("listing_links", label=_("Listings used"), heading=_("Listings used")),
        FieldPanel("outcomes"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("customer"),
        index.SearchField("industry"),
        index.SearchField("summary"),
        index.SearchField("body"),
    ]
    parent_page_types = ["cms.CaseStudyIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("case study")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["listings"] = selectors.case_study_listings(self)
        return context


class CaseStudyListing(Orderable):
    """A catalog listing a case study's customer used (the listing's page links back)."""

    page = ParentalKey(CaseStudyPage, on_delete=models.CASCADE, related_name="listing_links")
    listing = models.ForeignKey(
        "catalog.Listing", on_delete=models.CASCADE, related_name="case_study_links"
    )

    panels = [FieldPanel("listing", widget=listing_chooser_viewset.widget_class)]

    class Meta(Orderable.Meta):
        verbose_name = _("listing used")


class CaseStudyIndexPage(IndexPage):
    """The list of case studies."""

    subpage_types = ["cms.CaseStudyPage"]
    child_model = CaseStudyPage

    class Meta:
        verbose_name = _("case study index")


class NewsPage(BlocksPage):
    """News about Precis: new listings, programmes, releases."""

    date = models.DateField(_("date"), default=timezone.localdate)
    intro = models.TextField(_("introduction"), max_length=600)
    body = StreamField(ArticleBodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("date"),
        FieldPanel("intro"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("intro"),
        index.SearchField("body"),
        index.FilterField("date"),
    ]
    parent_page_types = ["cms.NewsIndexPage"]
    subpage_types: list[str] = []

    class Meta:
        verbose_name = _("news item")


class NewsIndexPage(IndexPage):
    """News, newest first."""

    subpage_types = ["cms.NewsPage"]
    child_model = NewsPage
    per_page = 10

    class Meta:
        verbose_name = _("news index")


class Menu(TranslatableMixin, ClusterableModel):
    """A list of links editors maintain: the header's extra links or a column of the footer.

    Translatable: each language has its own copy (its own labels, links to its own pages).
    """

    class Placement(models.TextChoices):
        HEADER = "header", _("Header")
        FOOTER = "footer", _("Footer column")

    title = models.CharField(_("title"), max_length=80)
    placement = models.CharField(
        _("placement"), max_length=16, choices=Placement.choices, default=Placement.FOOTER
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    panels = [
        FieldPanel("title"),
        FieldPanel("placement"),
        FieldPanel("position"),
        InlinePanel("items", label=_("Links"), heading=_("Links")),
    ]

    class Meta(TranslatableMixin.Meta):
        verbose_name = _("menu")
        verbose_name_plural = _("menus")
        ordering = ["placement", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_placement_display()}, {self.locale})"


class MenuItem(Orderable):
    """One link of a menu: a page of the site, or an address (a path or a full URL)."""

    menu = ParentalKey(Menu, on_delete=models.CASCADE, related_name="items")
    label = models.CharField(_("label"), max_length=60)
    link_page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("page"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    link_url = models.CharField(_("address"), max_length=300, blank=True)

    panels = [FieldPanel("label"), FieldPanel("link_page"), FieldPanel("link_url")]

    class Meta(Orderable.Meta):
        verbose_name = _("link")
