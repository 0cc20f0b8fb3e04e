# ruff: noqa: E501, RUF001 - editorial prose, in English and Chinese (with its full-width punctuation)
"""The demo's editorial content: the home page composed from blocks, guides, case studies, news,
and the header and footer menus, in English and Simplified Chinese.

Idempotent like the rest of the demo: pages are found by their parent and slug (Chinese pages
as translations of the English ones), menus by their translation key, and a page is saved and
published again only when its content differs from what is written here.
"""

import uuid
from datetime import date

from django.db import transaction
from wagtail.blocks import StreamValue
from wagtail.fields import StreamField
from wagtail.models import Locale, Page, Site

from cms import selectors as cms_selectors
from cms.models import (
    CaseStudyIndexPage,
    CaseStudyListing,
    CaseStudyPage,
    GuideIndexPage,
    GuidePage,
    HomePage,
    Menu,
    MenuItem,
    NewsIndexPage,
    NewsPage,
)
from marketplace.catalog import selectors as catalog

LANGUAGES = ("en", "zh-hans")
MENU_KEYS = {
    ("header", 0): uuid.UUID("6f1d7c62-0d5e-4f43-9d0e-2a0c2b7f0a01"),
    ("footer", 0): uuid.UUID("6f1d7c62-0d5e-4f43-9d0e-2a0c2b7f0a02"),
    ("footer", 1): uuid.UUID("6f1d7c62-0d5e-4f43-9d0e-2a0c2b7f0a03"),
}


def _rich(*paragraphs: str) -> str:
    return "".join(f"<p>{text}</p>" for text in paragraphs)


# --- Content --------------------------------------------------------------------------------

INDEXES = {
    "guides": (
        GuideIndexPage,
        {
            "en": {"title": "Guides", "intro": "Practical guides to choosing, trying and paying for industrial software."},
            "zh-hans": {"title": "指南", "intro": "选择、试用工业软件以及为其付费的实用指南。"},
        },
    ),
    "case-studies": (
        CaseStudyIndexPage,
        {
            "en": {"title": "Case studies", "intro": "Plants that measured what the software changed, before and after."},
            "zh-hans": {"title": "案例", "intro": "工厂在使用前后实测的改进成效。"},
        },
    ),
    "news": (
        NewsIndexPage,
        {
            "en": {"title": "News", "intro": "What is new on Precis."},
            "zh-hans": {"title": "新闻", "intro": "Precis 的最新动态。"},
        },
    ),
}  # fmt: skip

GUIDES = {
    "choosing-edge-software": {
        "en": {
            "title": "Choosing edge software for a small plant",
            "intro": "Five questions to ask before you install anything next to your machines.",
            "body": [
                ("rich_text", _rich(
                    "Start from the problem on the line, not from the technology: a camera that "
                    "catches one costly defect pays for itself faster than a platform that "
                    "collects everything.",
                    "Check the footprint on each listing: install time, memory and CPU, and "
                    "whether it keeps working when the network drops.",
                    "Ask which protocols it speaks. OPC UA, Modbus, MQTT and S7 cover most "
                    "machines in a small plant.",
                )),
                ("faq", {"heading": "Questions buyers ask", "items": [
                    {"question": "Do I need a server room?",
                     "answer": _rich("No. Most solutions on Precis run on an industrial PC or a gateway.")},
                    {"question": "Can I try it without a card?",
                     "answer": _rich("Yes: look for the free trial badge in the catalog.")},
                ]}),
            ],
        },
        "zh-hans": {
            "title": "为小型工厂选择边缘软件",
            "intro": "在机器旁安装任何软件之前，先问这五个问题。",
            "body": [
                ("rich_text", _rich(
                    "从产线上的问题出发，而不是从技术出发：一台能发现一种高代价缺陷的相机，"
                    "比一个什么都采集的平台回本更快。",
                    "查看每个产品的资源占用：安装时间、内存和 CPU，以及断网后能否继续工作。",
                    "了解它支持哪些协议。OPC UA、Modbus、MQTT 和 S7 覆盖了小型工厂的大多数设备。",
                )),
                ("faq", {"heading": "买家常见问题", "items": [
                    {"question": "需要机房吗？",
                     "answer": _rich("不需要。Precis 上的大多数解决方案可运行在工控机或网关上。")},
                    {"question": "可以不绑卡试用吗？",
                     "answer": _rich("可以：在产品目录中查找“免费试用”标记。")},
                ]}),
            ],
        },
    },
    "running-a-trial": {
        "en": {
            "title": "Try first, pay later: running a trial on your line",
            "intro": "How to plan a trial so that, at its end, you know whether the software earns its price.",
            "body": [
                ("rich_text", _rich(
                    "Agree on one number before the trial starts: defects caught per shift, "
                    "kilowatt-hours per thousand parts, unplanned stops per week.",
                    "Install on one line, leave the others as they are, and compare.",
                    "When the trial ends, Precis shows what you would have paid under each plan.",
                )),
            ],
        },
        "zh-hans": {
            "title": "先用后付：在产线上开展试用",
            "intro": "如何规划试用，使您在试用结束时清楚软件是否物有所值。",
            "body": [
                ("rich_text", _rich(
                    "试用开始前先商定一个指标：每班发现的缺陷数、每千件耗电量、每周非计划停机次数。",
                    "只在一条产线上安装，其余产线保持不变，然后进行对比。",
                    "试用结束时，Precis 会显示各个方案下您本应支付的费用。",
                )),
            ],
        },
    },
    "paying-for-outcomes": {
        "en": {
            "title": "Paying for verified outcomes",
            "intro": "Outcome-based plans charge for results measured from your own telemetry.",
            "body": [
                ("rich_text", _rich(
                    "An outcome plan names a metric, a baseline you agree before the period, and "
                    "a price per unit of improvement or a share of the savings.",
                    "At the end of each period you see every claimed line and accept or dispute it.",
                )),
                ("faq", {"heading": "Outcome plans, briefly", "items": [
                    {"question": "Who measures the outcome?",
                     "answer": _rich("Your industrial platform sends the telemetry; Precis computes the result.")},
                    {"question": "Is there a cap?",
                     "answer": _rich("Each plan states its floor and cap up front.")},
                ]}),
            ],
        },
        "zh-hans": {
            "title": "为经过验证的成效付费",
            "intro": "按成效付费方案根据您自己的遥测数据测得的结果收费。",
            "body": [
                ("rich_text", _rich(
                    "成效方案会指定一个指标、一个在周期开始前商定的基线，以及按改进单位计价或按节省分成。",
                    "每个周期结束时，您可以查看每一项申报并逐项接受或提出异议。",
                )),
                ("faq", {"heading": "成效方案简介", "items": [
                    {"question": "成效由谁来测量？",
                     "answer": _rich("您的工业互联网平台上报遥测数据，由 Precis 计算结果。")},
                    {"question": "有上限吗？",
                     "answer": _rich("每个方案都会事先写明下限和上限。")},
                ]}),
            ],
        },
    },
}  # fmt: skip

CASE_STUDIES = {
    "jiangnan-textiles-fabric-inspection": {
        "listings": ["tiangong-fabric-inspect", "lumen-inspect"],
        "outcomes": [
            {"metric": "Defects reaching the customer", "before": "2.4", "after": "0.6", "unit": "%", "period": "3 months"},
            {"metric": "Inspection hours per shift", "before": "16", "after": "6", "unit": "h", "period": "3 months"},
        ],
        "outcomes_zh": [
            {"metric": "流向客户的缺陷率", "before": "2.4", "after": "0.6", "unit": "%", "period": "3 个月"},
            {"metric": "每班检验工时", "before": "16", "after": "6", "unit": "小时", "period": "3 个月"},
        ],
        "en": {
            "title": "A weaving mill stops faults before the roll is cut",
            "customer": "Jiangnan Textiles",
            "industry": "Textiles",
            "summary": "Cameras over two looms caught weaving faults as they happened and cut the defects that reached customers by three quarters.",
            "body": [("rich_text", _rich(
                "Jiangnan Textiles ran a four-week trial on two looms before subscribing. "
                "The models ran on an edge box beside each loom and kept working through network outages."
            ))],
        },
        "zh-hans": {
            "title": "织造厂在裁卷前拦截织疵",
            "customer": "江南纺织",
            "industry": "纺织",
            "summary": "两台织机上方的相机实时发现织疵，使流向客户的缺陷减少了四分之三。",
            "body": [("rich_text", _rich(
                "江南纺织在订阅前先在两台织机上试用了四周。模型运行在每台织机旁的边缘盒子上，断网期间也能持续工作。"
            ))],
        },
    },
    "huaxin-compressed-air": {
        "listings": ["voltwise-compressed-air", "voltwise-meter"],
        "outcomes": [
            {"metric": "Electricity per 1,000 parts", "before": "182", "after": "151", "unit": "kWh", "period": "6 months"},
            {"metric": "Compressor running hours per week", "before": "148", "after": "121", "unit": "h", "period": "6 months"},
        ],
        "outcomes_zh": [
            {"metric": "每千件耗电量", "before": "182", "after": "151", "unit": "千瓦时", "period": "6 个月"},
            {"metric": "空压机每周运行小时", "before": "148", "after": "121", "unit": "小时", "period": "6 个月"},
        ],
        "en": {
            "title": "A parts plant cuts compressed-air energy by 17 per cent",
            "customer": "Huaxin Precision Parts",
            "industry": "Metal parts",
            "summary": "Meters on three compressors found leaks and idle running; the plant pays a share of the verified savings.",
            "body": [("rich_text", _rich(
                "Huaxin Precision Parts chose an outcome plan: the baseline was agreed from a month of "
                "readings, and each month's savings are verified from the meters' telemetry."
            ))],
        },
        "zh-hans": {
            "title": "零部件工厂将压缩空气能耗降低 17%",
            "customer": "华信精密零部件",
            "industry": "金属零部件",
            "summary": "三台空压机上的电表发现了泄漏和空转；工厂按经过验证的节省分成付费。",
            "body": [("rich_text", _rich(
                "华信精密零部件选择了按成效付费方案：基线根据一个月的读数商定，每月的节省都通过电表遥测数据核实。"
            ))],
        },
    },
}  # fmt: skip

NEWS = {
    "open-source-components": {
        "date": date(2026, 10, 12),
        "en": {
            "title": "Open-source components join the catalog",
            "intro": "Protocol gateways, time-series storage and models that solutions build on now have their own pages.",
            "body": [("rich_text", _rich("Each component page shows its licence, repository and the solutions that use it."))],
        },
        "zh-hans": {
            "title": "开源组件加入产品目录",
            "intro": "解决方案所依赖的协议网关、时序存储和模型现在有了自己的页面。",
            "body": [("rich_text", _rich("每个组件页面都会展示其许可证、代码仓库以及使用它的解决方案。"))],
        },
    },
    "outcome-plans": {
        "date": date(2026, 11, 2),
        "en": {
            "title": "Vendors can now offer outcome-based plans",
            "intro": "Charge per verified result, with a baseline, a floor and a cap, measured from the buyer's telemetry.",
            "body": [("rich_text", _rich("Buyers accept or dispute each line of an outcome statement before it is invoiced."))],
        },
        "zh-hans": {
            "title": "供应商现在可以提供按成效付费方案",
            "intro": "按经过验证的结果收费，设有基线、下限和上限，依据买家的遥测数据计量。",
            "body": [("rich_text", _rich("买家在开票前可逐项接受或质疑成效报表中的每一项。"))],
        },
    },
}  # fmt: skip

HOME = {
    "en": {
        "hero": {
            "title": "Small, fast, light, precise software for your plant",
            "intro": (
                "Find industrial solutions and open-source components that deploy in minutes. "
                "Try first and pay later, subscribe, or pay only for verified outcomes."
            ),
            "cta_label": "Start a free trial",
        },
        "featured": ("Best rated by plants like yours", "Featured solutions"),
        "case_study": "Measured on the shop floor",
        "new": ("Just published", "New on Precis"),
        "industries": ("Made for your trade", "Browse by industry"),
        "components": ("Open source at the core", "Components solutions build on"),
        "faq": ("Questions SMEs ask", [
            ("What does “try first, pay later” mean?",
             "You start a trial without a card and pay only if you keep the software."),
            ("Who verifies outcomes?",
             "Your industrial platform sends telemetry; you accept or dispute each claimed line."),
        ]),
        "cta": ("Sell your solution on Precis",
                "Publish listings with trials, subscriptions and outcome-based plans. Precis meters "
                "usage, verifies outcomes and sends the invoices.",
                "Become a vendor", "/accounts/signup/"),
    },
    "zh-hans": {
        "hero": {
            "title": "为您的工厂提供小、快、轻、准的工业软件",
            "intro": "几分钟即可部署的工业解决方案和开源组件。先用后付、按月订阅，或只为经过验证的成效付费。",
            "cta_label": "免费试用",
        },
        "featured": ("同类工厂评分最高", "精选解决方案"),
        "case_study": "车间实测",
        "new": ("最新发布", "Precis 新上架"),
        "industries": ("为您的行业打造", "按行业浏览"),
        "components": ("以开源为核心", "解决方案所依赖的组件"),
        "faq": ("中小企业常见问题", [
            ("“先用后付”是什么意思？", "无需绑卡即可开始试用，只有继续使用时才需付费。"),
            ("成效由谁核实？", "您的工业互联网平台上报遥测数据，您可逐项接受或质疑申报的成效。"),
        ]),
        "cta": ("在 Precis 上销售您的解决方案",
                "发布支持试用、订阅和按成效付费方案的产品。Precis 负责用量计量、成效核实和发票开具。",
                "成为供应商", "/zh-hans/accounts/signup/"),
    },
}  # fmt: skip
HOME_COMPONENTS = ["open62541-edge-gateway-kit", "modbuslink", "edgetsdb", "oee-calc"]

MENUS = {
    ("header", 0): {"en": "Learn", "zh-hans": "了解"},
    ("footer", 0): {"en": "Learn", "zh-hans": "了解"},
    ("footer", 1): {"en": "Marketplace", "zh-hans": "市场"},
}
MARKETPLACE_LINKS = {
    "en": [("Catalog", "/catalog/"), ("For vendors", "/vendors/"), ("Search", "/search/")],
    "zh-hans": [("产品目录", "/zh-hans/catalog/"), ("供应商专区", "/zh-hans/vendors/"), ("搜索", "/zh-hans/search/")],
}  # fmt: skip


# --- Writing pages --------------------------------------------------------------------------


def _plain(value):
    """Stream data without block ids and list-item wrappers, to compare content only."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        if value.get("type") == "item" and "value" in value:
            return _plain(value["value"])
        return {key: _plain(item) for key, item in value.items() if key != "id"}
    return value


def _stream(blocks) -> list[dict]:
    return [{"type": kind, "value": value} for kind, value in blocks]


def _differs(page: Page, fields: dict) -> bool:
    for name, wanted in fields.items():
        current = getattr(page, name)
        field = page._meta.get_field(name)
        if isinstance(field, StreamField):
            current_raw = current.get_prep_value() if isinstance(current, StreamValue) else current
            if _plain(list(current_raw or [])) != _plain(wanted):
                return True
        elif current != wanted:
            return True
    return False


def _publish(page: Page, fields: dict, *, force: bool = False) -> Page:
    # Children may have been added through another instance (copy_for_translation loads the
    # parent itself): publishing a stale copy would write back its old tree counters.
    page.refresh_from_db()
    if force or _differs(page, fields) or not page.live:
        for name, value in fields.items():
            setattr(page, name, value)
        page.save_revision().publish()
        page.refresh_from_db()
    return page


def _child(parent: Page, model: type[Page], slug: str, fields: dict) -> Page:
    page = model.objects.child_of(parent).filter(slug=slug).first()
    if page is None:
        page = model(slug=slug, locale_id=parent.locale_id, **fields)
        parent.add_child(instance=page)
        return _publish(page, fields, force=True)
    return _publish(page, fields)


def _translation(source: Page, locale: Locale, fields: dict) -> Page:
    page = source.get_translation_or_none(locale)
    if page is None:
        page = source.copy_for_translation(locale)
    return _publish(page.specific, fields)


def _pages_for(model, parent_en, parent_zh, slug, content, extra=lambda language: {}):
    en = _child(parent_en, model, slug, {**_fields(content["en"]), **extra("en")})
    zh = _translation(en, parent_zh.locale, {**_fields(content["zh-hans"]), **extra("zh-hans")})
    return en, zh


def _fields(content: dict) -> dict:
    return {name: _stream(value) if name == "body" else value for name, value in content.items()}


def _listing_ids(slugs: list[str]) -> list[int]:
    found = dict(catalog.published_listings().filter(slug__in=slugs).values_list("slug", "pk"))
    return [found[slug] for slug in slugs if slug in found]


def _link_listings(page: CaseStudyPage, listing_ids: list[int]) -> None:
    current = list(page.listing_links.order_by("sort_order").values_list("listing_id", flat=True))
    if current == listing_ids:
        return
    page.listing_links = [
        CaseStudyListing(listing_id=pk, sort_order=n) for n, pk in enumerate(listing_ids)
    ]
    page.save_revision().publish()


def _home_body(language: str, case_study: Page | None, component_ids: list[int]) -> list[dict]:
    text = HOME[language]
    title, lead, label, url = text["cta"]
    blocks = [
        ("hero", {**text["hero"], "cta_url": "", "show_search": True}),
        ("featured_listings", {"eyebrow": text["featured"][0], "heading": text["featured"][1],
                               "source": "featured", "listings": []}),
        ("featured_listings", {"eyebrow": text["new"][0], "heading": text["new"][1],
                               "source": "new", "listings": []}),
        ("industry_tiles", {"eyebrow": text["industries"][0], "heading": text["industries"][1]}),
    ]  # fmt: skip
    if case_study is not None:
        blocks.append(("case_study", {"eyebrow": text["case_study"], "page": case_study.pk}))
    blocks.append(("standard_section", {"section": "payment_models"}))
    if component_ids:
        blocks.append((
            "featured_listings",
            {"eyebrow": text["components"][0], "heading": text["components"][1],
             "source": "chosen", "listings": component_ids},
        ))  # fmt: skip
    heading, questions = text["faq"]
    blocks += [
        ("standard_section", {"section": "shop_floor"}),
        ("faq", {"heading": heading, "items": [
            {"question": question, "answer": _rich(answer)} for question, answer in questions
        ]}),
        ("call_to_action", {"title": title, "text": lead,
                            "button": {"label": label, "page": None, "url": url}}),
    ]  # fmt: skip
    return _stream(blocks)


# --- Menus ----------------------------------------------------------------------------------


def _menu(key: tuple[str, int], locale: Locale, links: list[tuple[str, Page | None, str]]):
    placement, position = key
    menu, _ = Menu.objects.update_or_create(
        translation_key=MENU_KEYS[key],
        locale=locale,
        defaults={
            "title": MENUS[key][locale.language_code],
            "placement": placement,
            "position": position,
        },
    )
    wanted = [(label, page.pk if page else None, url) for label, page, url in links]
    current = list(
        menu.items.order_by("sort_order").values_list("label", "link_page_id", "link_url")
    )
    if current != wanted:
        menu.items.all().delete()
        MenuItem.objects.bulk_create(
            MenuItem(menu=menu, label=label, link_page_id=page_id, link_url=url, sort_order=n)
            for n, (label, page_id, url) in enumerate(wanted)
        )


# --- Entry point ----------------------------------------------------------------------------


@transaction.atomic
def seed_cms() -> None:
    """Compose both home pages and add the guides, case studies, news and menus."""
    english = Locale.objects.get_or_create(language_code="en")[0]
    chinese = Locale.objects.get_or_create(language_code="zh-hans")[0]
    site = Site.objects.get(is_default_site=True)
    home_en = site.root_page.specific
    if not isinstance(home_en, HomePage):
        raise RuntimeError("The default site's root page is not a HomePage; run migrate first.")
    home_zh = home_en.get_translation_or_none(chinese)
    if home_zh is None:
        home_zh = home_en.copy_for_translation(chinese)
    home_zh = home_zh.specific
    _publish(home_zh, {"title": "Precis"})

    indexes = {}
    for slug, (model, content) in INDEXES.items():
        indexes[slug] = _pages_for(model, home_en, home_zh, slug, content)

    for slug, content in GUIDES.items():
        _pages_for(GuidePage, *indexes["guides"], slug, content)

    studies = []
    for slug, content in CASE_STUDIES.items():
        en, zh = _pages_for(
            CaseStudyPage,
            *indexes["case-studies"],
            slug,
            content,
            extra=lambda language, c=content: {
                "outcomes": _stream(
                    ("outcome", outcome)
                    for outcome in c["outcomes" if language == "en" else "outcomes_zh"]
                )
            },
        )
        listing_ids = _listing_ids(content["listings"])
        for page in (en, zh):
            _link_listings(page, listing_ids)
        studies.append((en, zh))

    for slug, content in NEWS.items():
        _pages_for(
            NewsPage,
            *indexes["news"],
            slug,
            content,
            extra=lambda language, c=content: {"date": c["date"]},
        )

    component_ids = _listing_ids(HOME_COMPONENTS)
    study_en, study_zh = studies[0]
    _publish(home_en, {"body": _home_body("en", study_en, component_ids)})
    _publish(home_zh, {"body": _home_body("zh-hans", study_zh, component_ids)})

    for locale in (english, chinese):
        language = locale.language_code
        learn = [
            (
                indexes[slug][0 if language == "en" else 1].title,
                indexes[slug][0 if language == "en" else 1],
                "",
            )
            for slug in ("guides", "case-studies", "news")
        ]
        _menu(("header", 0), locale, learn)
        _menu(("footer", 0), locale, learn)
        _menu(
            ("footer", 1),
            locale,
            [(label, None, url) for label, url in MARKETPLACE_LINKS[language]],
        )
    cms_selectors.menus_changed()
