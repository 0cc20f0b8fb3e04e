"""The community in a real browser, at desktop and phone width: a contributor proposes an
open-source component, a moderator accepts it, and its page credits the contributor."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in, with_authenticator
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("migrated_data")


def test_contributor_proposes_a_component_and_a_moderator_accepts_it(live_server, page, shoot):
    contributor = UserFactory(first_name="Ada", last_name="Lovelace")
    moderator = UserFactory(is_staff=True, first_name="Mo", last_name="Derator")
    moderator_secret = with_authenticator(moderator)

    sign_in(page, live_server, contributor)
    page.goto(live_server.url + "/community/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Open-source components")
    page.get_by_role("link", name="Propose a component").first.click()
    expect(page).to_have_url(re.compile(r"/community/propose/$"))

    page.get_by_label("Name", exact=True).fill("OPC Mini Server")
    page.get_by_label("Tagline").fill("A tiny OPC UA server for edge gateways")
    page.get_by_label("Description").fill("Serves PLC tags over **OPC UA** in 4 MB of RAM.")
    page.get_by_label("Licence (SPDX)").fill("mit")
    page.get_by_label("Repository").fill("https://github.com/example/opc-mini")
    page.get_by_label("Security contact").fill("security@opc-mini.example")
    page.get_by_label("Supported hardware").fill("Raspberry Pi 4")
    page.get_by_label("OPC UA", exact=True).check()
    page.get_by_label("Why this change").fill("Used in three of our plants.")
    shoot("01-proposal-form")
    page.get_by_role("button", name="Send for review").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("New component: OPC Mini Server")
    expect(page.get_by_test_id("contribution-status")).to_have_text("Open")
    expect(page.get_by_test_id("diff-license")).to_contain_text("MIT")
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)  # not a moderator
    shoot("02-proposal-open")
    proposal_url = page.url

    page.context.clear_cookies()  # sign out
    sign_in(page, live_server, moderator, secret=moderator_secret)
    page.goto(live_server.url + "/community/moderation/")
    queue = page.get_by_role("table")
    queue.get_by_role("link", name="New component: OPC Mini Server").click()
    expect(page).to_have_url(proposal_url)
    page.get_by_label("Reason").fill("Checked the repository and the licence.")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("contribution-status")).to_have_text("Accepted")
    expect(page.get_by_test_id("history")).to_contain_text("Accepted")
    shoot("03-accepted")

    page.context.clear_cookies()
    page.goto(live_server.url + "/community/")
    page.get_by_role("link", name="OPC Mini Server").click()
    expect(page).to_have_url(re.compile(r"/community/components/opc-mini-server/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("OPC Mini Server")
    expect(page.get_by_test_id("licence")).to_have_text("MIT")
    expect(page.get_by_test_id("security-contact")).to_have_text("security@opc-mini.example")
    expect(page.get_by_test_id("credits")).to_contain_text("Ada Lovelace")
    expect(page.get_by_test_id("maintainers")).to_contain_text("Ada Lovelace")
    expect(page.get_by_test_id("component-description").locator("strong")).to_have_text("OPC UA")
    shoot("04-component")

    page.get_by_test_id("credits").get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(page.get_by_test_id("accepted")).to_contain_text("OPC Mini Server")
    shoot("05-contributor")
