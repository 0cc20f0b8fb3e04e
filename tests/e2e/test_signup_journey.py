"""A new person signs up, confirms their email, creates an organization, switches to Chinese and
signs out, in a real browser at desktop and phone width."""

import re

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import Membership
from tests.e2e.conftest import open_menu

pytestmark = pytest.mark.usefixtures("migrated_data")

PASSWORD = "Plant-floor-2026!"


def test_sign_up_confirm_create_organization_switch_language_sign_out(
    live_server, page, mailoutbox, shoot, screen
):
    email = f"engineer-{screen}@huaxin.example"

    page.goto(live_server.url + "/")
    expect(page.locator("h1")).to_contain_text("Small, fast, light, precise")
    shoot("01-home")

    page.goto(live_server.url + "/accounts/signup/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    shoot("02-signup")
    page.locator("form button[type=submit]").last.click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    shoot("03-verify-email")

    assert len(mailoutbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)
    page.goto(link)
    shoot("04-confirm-email")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/orgs/$"))

    page.get_by_role("link", name="Create an organization").first.click()
    page.fill("input[name=name]", "Huaxin Precision Parts")
    shoot("05-create-organization")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("Huaxin Precision Parts")
    shoot("06-organization")
    membership = Membership.objects.get(user__email=email)
    assert (membership.organization.name, membership.role) == ("Huaxin Precision Parts", "owner")

    open_menu(page)
    page.locator("[data-testid=language-zh-hans]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"/zh-hans/orgs/"))
    expect(page.locator("h1")).to_contain_text("Huaxin Precision Parts")
    expect(page.locator("main")).to_contain_text("成员")  # "Members", from our translations
    shoot("07-organization-zh-hans")

    open_menu(page)
    page.locator("[data-testid=sign-out]").click()
    # allauth asks to confirm when signing out from a link; the menu button posts directly.
    if "/accounts/logout/" in page.url:
        page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=sign-in]").first).to_be_attached()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    shoot("08-signed-out-zh-hans")
    page.goto(live_server.url + "/orgs/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
