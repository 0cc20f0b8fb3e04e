"""Wagtail page models."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import Page
from wagtail.search import index

from marketplace.catalog import selectors as catalog


class HomePage(Page):
    """The front page at `/`: what Precis offers SMEs and vendors, edited by staff in /cms/.

    One per language (Wagtail localization): the Chinese home page is a translation of the
    English one and is served under /zh-hans/.
    """

    hero_title = models.CharField(_("hero title"), max_length=160)
    hero_intro = models.TextField(_("hero introduction"), max_length=600, blank=True)
    hero_cta_label = models.CharField(
        _("call-to-action label"), max_length=60, default="Start a free trial"
    )
    body = RichTextField(
        _("body"), blank=True, features=["h2", "h3", "bold", "italic", "link", "ol", "ul"]
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [FieldPanel("hero_title"), FieldPanel("hero_intro"), FieldPanel("hero_cta_label")],
            heading=_("Hero"),
        ),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("hero_title"),
        index.SearchField("hero_intro"),
        index.SearchField("body"),
    ]
    parent_page_types = ["wagtailcore.Page"]
    subpage_types: list[str] = []
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        """The catalog's featured and new listings and its industries, read through selectors."""
        context = super().get_context(request, *args, **kwargs)
        sections = catalog.home_sections()
        context["featured"] = sections["featured"]
        context["new"] = sections["new"]
        context["industries"] = catalog.industries_with_counts()
        return context
