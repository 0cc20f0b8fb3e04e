"""An editor changes the home page in the Wagtail admin, in English and in its Chinese
translation, publishes, and visitors see the change in both languages (desktop and phone).

Staff need their second factor: the editor signs in through the site's sign-in page with the
code from the authenticator the test gave them, then works in /cms/.
"""

import pytest
from playwright.sync_api import expect

from cms.models import HomePage
from marketplace.demo.cms import seed_cms
from tests.e2e.conftest import open_menu, totp_code, with_authenticator
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.usefixtures("migrated_data")

NEW_TITLE = "Software that proves itself on your line"
NEW_TITLE_ZH = "在您的产线上自证价值的软件"


def edit_hero_title(page, live_server, home: HomePage, title: str) -> None:
    """Open the page in the admin, change the hero block's title, and publish."""
    page.goto(f"{live_server.url}/cms/pages/{home.pk}/edit/")
    field = page.locator('input[name="body-0-value-title"]')
    if not field.is_visible():
        page.locator("[data-streamfield-child] button[aria-expanded=false]").first.click()
    expect(field).to_be_visible()
    field.fill(title)
    page.locator("footer .w-dropdown__toggle, footer [data-w-dropdown-target=toggle]").first.click()
    page.locator('button[name="action-publish"]').click()
    expect(page.locator(".messages")).to_contain_text("published")


def test_an_editor_changes_the_home_page_in_both_languages(page, live_server, shoot):
    seed_cms()
    english = HomePage.objects.get(locale__language_code="en")
    chinese = HomePage.objects.get(locale__language_code="zh-hans")
    editor = UserFactory(is_staff=True, is_superuser=True)
    secret = with_authenticator(editor)

    # Asking for the admin leads to the site's own sign-in, with its two-factor step.
    page.goto(live_server.url + "/cms/")
    expect(page).to_have_url(live_server.url + "/accounts/login/?next=/cms/")
    page.fill("input[name=login]", editor.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator("input[name=code]")).to_be_visible()
    page.fill("input[name=code]", totp_code(secret))
    page.locator("main").get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/cms/")

    edit_hero_title(page, live_server, english, NEW_TITLE)
    shoot("published-english")
    edit_hero_title(page, live_server, chinese, NEW_TITLE_ZH)

    page.goto(live_server.url + "/")
    expect(page.get_by_test_id("hero-title")).to_have_text(NEW_TITLE)
    shoot("home-english")
    page.goto(live_server.url + "/zh-hans/")
    expect(page.get_by_test_id("hero-title")).to_have_text(NEW_TITLE_ZH)
    shoot("home-chinese")

    # The rest of the editorial site, as a visitor on the same screen sees it: the header's
    # "Learn" menu (a Menu snippet) leads to the guides.
    page.goto(live_server.url + "/")
    open_menu(page)
    page.get_by_test_id("header-menu").locator("summary").click()
    shoot("learn-menu")
    page.get_by_test_id("header-menu").get_by_role("link", name="Guides").click()
    expect(page.locator("h1")).to_have_text("Guides")
    page.goto(live_server.url + "/zh-hans/case-studies/huaxin-compressed-air/")
    expect(page.locator("h1")).to_have_text("零部件工厂将压缩空气能耗降低 17%")
    shoot("case-study-chinese")
    page.goto(live_server.url + "/search/?q=outcome")
    expect(page.get_by_test_id("search-pages")).to_contain_text("Paying for verified outcomes")
    shoot("search")
