# ruff: noqa: E501, RUF001 - a table of English and Chinese page texts
"""Every CMS page type renders in English and in Simplified Chinese, from the demo content."""

import re

import pytest
from wagtail.models import Page

from cms.models import CaseStudyPage, GuidePage, HomePage, Menu, NewsPage
from marketplace.demo.cms import seed_cms

pytestmark = pytest.mark.django_db

PAGES = [
    # (path, English text, Chinese text)
    ("/", "Small, fast, light, precise software for your plant", "为您的工厂提供小、快、轻、准的工业软件"),
    ("/guides/", "Choosing edge software for a small plant", "为小型工厂选择边缘软件"),
    ("/guides/paying-for-outcomes/", "Who measures the outcome?", "成效由谁来测量？"),
    ("/case-studies/", "A weaving mill stops faults before the roll is cut", "织造厂在裁卷前拦截织疵"),
    ("/case-studies/huaxin-compressed-air/", "Electricity per 1,000 parts", "每千件耗电量"),
    ("/news/", "Vendors can now offer outcome-based plans", "供应商现在可以提供按成效付费方案"),
    ("/news/open-source-components/", "Open-source components join the catalog", "开源组件加入产品目录"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "english", "chinese"), PAGES)
def test_each_page_type_renders_in_both_languages(client, cms_content, path, english, chinese):
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="en"' in html
    assert english in html
    assert chinese not in html

    translated = client.get("/zh-hans" + path)
    assert translated.status_code == 200
    html = translated.content.decode()
    assert '<html lang="zh-hans"' in html
    assert chinese in html
    assert english not in html


def test_chinese_pages_are_wagtail_translations_of_the_english_ones(cms_content):
    for model in (HomePage, GuidePage, CaseStudyPage, NewsPage):
        for page in model.objects.filter(locale__language_code="en"):
            translation = page.get_translation_or_none(
                page.locale.__class__.objects.get(language_code="zh-hans")
            )
            assert translation is not None, page
            assert translation.live


def test_seeding_twice_changes_nothing(cms_content):
    from wagtail.models import Revision

    before = (Page.objects.count(), Revision.objects.count(), Menu.objects.count())
    seed_cms()
    assert (Page.objects.count(), Revision.objects.count(), Menu.objects.count()) == before


def test_the_home_page_is_composed_from_blocks(client, cms_content):
    home = HomePage.objects.get(locale__language_code="en")
    kinds = [block.block_type for block in home.body]
    assert kinds[0] == "hero"
    assert {"featured_listings", "industry_tiles", "case_study", "faq", "call_to_action"} <= set(
        kinds
    )
    html = client.get("/").content.decode()
    # The case study teaser links the English case study; its measured outcome shows.
    assert 'href="/case-studies/jiangnan-textiles-fabric-inspection/"' in html
    assert "Defects reaching the customer" in html
    # Components chosen by the editor, loaded for their cards.
    section = html[html.index("Components solutions build on") :]
    assert "ModbusLink" in section
    assert "EdgeTSDB" in section
    chinese = client.get("/zh-hans/").content.decode()
    assert 'href="/zh-hans/case-studies/jiangnan-textiles-fabric-inspection/"' in chinese
    assert "流向客户的缺陷率" in chinese


def test_a_case_study_shows_its_listings_and_measured_outcomes(client, cms_content):
    html = client.get("/case-studies/jiangnan-textiles-fabric-inspection/").content.decode()
    listings = html[html.index('data-testid="case-study-listings"') :]
    assert listings.index("Tiangong Fabric Inspect") < listings.index("Lumen Inspect")
    assert 'href="/catalog/tiangong-fabric-inspect/"' in listings
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Defects reaching the customer Before 2.4 % After 0.6 % -75.0% change" in text


def test_a_case_study_leaves_out_a_listing_that_is_no_longer_published(client, cms_content):
    listing = cms_content["Lumen Inspect"]
    listing.status = "suspended"
    listing.save(update_fields=["status"])
    html = client.get("/case-studies/jiangnan-textiles-fabric-inspection/").content.decode()
    assert "Tiangong Fabric Inspect" in html
    assert "Lumen Inspect" not in html


def test_the_home_page_renders_after_migrate_without_the_demo(client):
    html = client.get("/").content.decode()
    assert "Small, fast, light, precise software for your plant" in html
    assert "Sell your solution on Precis" in html
    assert 'href="/accounts/signup/"' in html


def test_links_copied_into_a_translation_lead_to_pages_in_its_language(client, cms_content):
    """ "Translate" copies a page's blocks and a menu's items with their links to pages of the
    original language: they are followed to the translations."""
    from wagtail.models import Locale

    from cms.models import MenuItem

    chinese = Locale.objects.get(language_code="zh-hans")
    english_study = CaseStudyPage.objects.filter(locale__language_code="en").first()
    english_guides = Page.objects.get(locale__language_code="en", url_path__endswith="/guides/")
    home = HomePage.objects.get(locale=chinese)
    body = [(b.block_type, b.value) for b in home.body]
    for n, (kind, _value) in enumerate(body):
        if kind == "case_study":
            home.body[n] = ("case_study", {"eyebrow": "案例", "page": english_study})
    home.body.append(
        (
            "call_to_action",
            {"title": "阅读指南", "text": "", "button": {"label": "指南", "page": english_guides}},
        )
    )
    home.save_revision().publish()
    menu = Menu.objects.filter(locale=chinese).first()
    MenuItem.objects.create(menu=menu, label="英文指南", link_page=english_guides)
    from cms import selectors

    selectors.menus_changed()

    html = client.get("/zh-hans/").content.decode()
    chinese_study = english_study.get_translation(chinese)
    assert f'href="/zh-hans/case-studies/{chinese_study.slug}/"' in html
    assert chinese_study.title in html
    assert 'href="/zh-hans/guides/">指南</a>' in " ".join(html.split()).replace("> ", ">")
    assert re.search(r'href="/zh-hans/guides/"\s*>英文指南</a>', html)
    assert 'href="/guides/"' not in html
