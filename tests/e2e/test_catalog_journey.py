"""The catalog in a real browser, at desktop and phone width: a buyer searches, filters, opens
and compares listings; a vendor drafts, previews and submits a listing that staff approve.

People sign in through the real sign-in page, and vendor owners and staff answer its
two-factor step with a code computed from the authenticator secret the test gave them.
"""

import re

import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import Role
from marketplace.catalog import services
from tests.e2e.conftest import open_menu, sign_in, with_authenticator
from tests.factories import MembershipFactory, UserFactory, VendorFactory, term

pytestmark = pytest.mark.usefixtures("migrated_data")


# --- People and listings ------------------------------------------------------------------------


def vendor_with_owner(name: str, slug: str):
    vendor = VendorFactory(name=name, slug=slug)
    owner = MembershipFactory(organization=vendor, role=Role.OWNER).user
    return vendor, owner


def publish(*, vendor, owner, staff, name, tagline, description, terms, deploy_minutes, ram_mb):
    """A listing taken through the real life cycle: drafted, submitted, approved."""
    listing = services.listing_create(
        actor=owner,
        vendor=vendor,
        name=name,
        tagline=tagline,
        description=description,
        terms=[term(kind, slug) for kind, slug in terms],
        deploy_minutes=deploy_minutes,
        min_ram_mb=ram_mb,
    )
    services.listing_submit(actor=owner, listing=listing)
    return services.listing_approve(actor=staff, listing=listing)


# --- Signing in and out -------------------------------------------------------------------------


def sign_out(page) -> None:
    open_menu(page)
    page.locator("[data-testid=sign-out]").click()
    if "/accounts/logout/" in page.url:
        page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=sign-in]").first).to_be_attached()


# --- Buyer --------------------------------------------------------------------------------------

CAMERA_MATCHES = ["Weave Eye", "Fabric Trace"]  # camera + textiles + edge
OTHERS = [
    "Seam Cloud",  # camera and textiles, but in the cloud
    "Bottle Vision",  # camera at the edge, but for food and beverage
    "Spindle Pulse",  # textiles at the edge, but no camera
    "Meter Mind",  # none of it
]


@pytest.fixture
def published_catalog():
    """Six published listings across industries, scenarios and deployments, from two vendors."""
    staff = UserFactory(is_staff=True)
    loomwise, loomwise_owner = vendor_with_owner("Loomwise", "loomwise")
    plantsoft, plantsoft_owner = vendor_with_owner("Plantsoft", "plantsoft")
    rows = [
        (loomwise, loomwise_owner, "Weave Eye", "Spots weaving faults before the roll is cut",
         "A camera over the loom flags broken ends and slubs.",
         [("industry", "textiles"), ("scenario", "visual-quality-inspection"),
          ("deployment", "edge"), ("pricing", "free-trial")], 10, 512),
        (loomwise, loomwise_owner, "Fabric Trace", "Follows every roll from loom to dye house",
         "Reads roll labels with a camera at each station.",
         [("industry", "textiles"), ("scenario", "traceability"), ("deployment", "edge")],
         30, 1024),
        (loomwise, loomwise_owner, "Seam Cloud", "Seam checks for garment lines",
         "Upload camera pictures of seams; the cloud grades them.",
         [("industry", "textiles"), ("scenario", "visual-quality-inspection"),
          ("deployment", "cloud")], 5, 256),
        (plantsoft, plantsoft_owner, "Bottle Vision", "Fill-level checks on the bottling line",
         "One camera per filler head.",
         [("industry", "food-beverage"), ("scenario", "visual-quality-inspection"),
          ("deployment", "edge")], 20, 2048),
        (plantsoft, plantsoft_owner, "Spindle Pulse", "Hears a spindle bearing before it fails",
         "Vibration sensors on every spinning frame.",
         [("industry", "textiles"), ("scenario", "predictive-maintenance"),
          ("deployment", "edge")], 45, 512),
        (plantsoft, plantsoft_owner, "Meter Mind", "Energy per batch, per reactor",
         "Reads the plant's power meters over Modbus.",
         [("industry", "chemicals"), ("scenario", "energy-management"),
          ("deployment", "on-premises"), ("protocol", "modbus-tcp")], 60, 1024),
    ]  # fmt: skip
    for vendor, owner, name, tagline, description, terms, minutes, ram in rows:
        publish(
            vendor=vendor, owner=owner, staff=staff, name=name, tagline=tagline,
            description=description, terms=terms, deploy_minutes=minutes, ram_mb=ram,
        )  # fmt: skip


def test_buyer_searches_filters_opens_and_compares_listings(
    live_server, page, shoot, screen, published_catalog
):
    """An anonymous buyer searches the catalog for "camera", narrows it to textiles at the
    edge, opens a listing, comes back and compares the two that fit."""
    page.goto(live_server.url + "/catalog/")
    expect(page.locator("#results-count")).to_have_text("6 results")

    page.get_by_role("searchbox", name="Search the catalog").fill("camera")
    page.get_by_role("searchbox", name="Search the catalog").press("Enter")
    expect(page.locator("#results-count")).to_have_text("4 results")

    textiles = page.locator("input[name=industry][value=textiles]")
    edge = page.locator("input[name=deployment][value=edge]")
    if screen == "phone":
        # Folded behind "Filters": tick several, then apply them together.
        page.locator("[data-filters] > summary").click()
        textiles.check()
        edge.check()
        page.get_by_role("button", name="Apply filters").click()
    else:
        # Each tick applies at once.
        textiles.check()
        expect(page).to_have_url(re.compile(r"industry=textiles"))
        edge.check()
    expect(page).to_have_url(re.compile(r"q=camera.*industry=textiles.*deployment=edge"))

    results = page.get_by_role("list", name="Listings")
    expect(page.locator("#results-count")).to_have_text("2 results")
    for name in CAMERA_MATCHES:
        expect(results.get_by_role("link", name=name, exact=True)).to_be_visible()
    for name in OTHERS:
        expect(results).not_to_contain_text(name)
    chips = page.get_by_role("list", name="Filters in use")
    expect(chips).to_contain_text("Textiles and apparel")
    expect(chips).to_contain_text("Edge")
    shoot("01-catalog-filtered")

    results.get_by_role("link", name="Weave Eye", exact=True).click()
    expect(page).to_have_url(re.compile(r"/catalog/weave-eye/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Weave Eye")
    expect(page.locator(".listing-hero__tagline")).to_have_text(
        "Spots weaving faults before the roll is cut"
    )
    expect(page.locator(".listing-hero").get_by_role("list", name="Footprint")).to_contain_text(
        "Deploys in 10 min"
    )
    expect(page.get_by_test_id("preview-banner")).to_have_count(0)
    shoot("02-listing")

    page.go_back()
    expect(page.locator("#results-count")).to_have_text("2 results")
    # Ticked against the page's order: the comparison keeps the order of ticking.
    in_page_order = page.locator(".listing-card__name").all_inner_texts()
    assert sorted(in_page_order) == sorted(CAMERA_MATCHES)
    ticked = list(reversed(in_page_order))
    for name in ticked:
        page.get_by_role("checkbox", name=f"Add to compare {name}").check()
    expect(page.locator("[data-compare-status]")).to_have_text("2 of 4 selected")
    page.get_by_role("button", name="Compare selected").click()

    expect(page).to_have_url(re.compile(r"/catalog/compare/\?slugs="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare listings")
    table = page.get_by_role("table")
    for name in ticked:
        expect(table.get_by_role("columnheader", name=name)).to_be_visible()
    assert table.locator(".compare-head__name").all_inner_texts() == ticked
    expect(table).to_contain_text("10 minutes")
    expect(table).to_contain_text("30 minutes")
    shoot("03-compare")


# --- Vendor and staff ---------------------------------------------------------------------------


def test_vendor_drafts_previews_submits_and_staff_approve(live_server, page, shoot, mailoutbox):
    """A vendor owner writes a draft in the portal, previews it and submits it; it stays hidden
    from the public until staff approve it from the moderation queue; then anyone finds it."""
    vendor, owner = vendor_with_owner("Lumen Edge", "lumen-edge")
    owner_secret = with_authenticator(owner)
    staff = UserFactory(is_staff=True)
    staff_secret = with_authenticator(staff)

    sign_in(page, live_server, owner, secret=owner_secret)
    open_menu(page)
    page.get_by_role("link", name="For vendors").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vendor portal")
    page.get_by_test_id(f"vendor-{vendor.slug}").get_by_role("link", name="New listing").click()
    expect(page).to_have_url(re.compile(r"/vendors/listings/new/\?organization=lumen-edge$"))

    page.get_by_label("Name", exact=True).fill("Lumen Count")
    page.get_by_label("Tagline").fill("Counts parts from any camera")
    page.get_by_label("Description").fill(
        "Counts parts on a conveyor.\n\n## Features\n\n- Runs on a Raspberry Pi\n"
    )
    page.get_by_role("group", name="Industries").get_by_label("Electronics").check()
    page.get_by_role("group", name="Scenarios").get_by_label("OEE monitoring").check()
    page.get_by_label("Minutes to deploy").fill("15")
    page.get_by_label("Minimum RAM (MB)").fill("256")
    shoot("01-editor")
    page.get_by_role("button", name="Save draft").click()

    expect(page).to_have_url(re.compile(r"/vendors/listings/lumen-count/edit/$"))
    expect(page.get_by_role("status").filter(has_text="Draft saved")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Count")

    page.get_by_test_id("preview").click()
    expect(page).to_have_url(re.compile(r"/catalog/lumen-count/$"))
    expect(page.get_by_test_id("preview-banner")).to_contain_text(
        "Preview: this listing is not public (status: Draft)."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Count")
    expect(page.get_by_test_id("listing-description").get_by_role("heading")).to_have_text(
        "Features"
    )
    shoot("02-preview")

    page.go_back()
    page.get_by_test_id("submit-for-review").click()
    expect(page.get_by_text("Lumen Count is submitted for review")).to_be_visible()
    expect(page.get_by_test_id("submit-for-review")).to_have_count(0)
    sign_out(page)

    response = page.goto(live_server.url + "/catalog/lumen-count/")
    assert response.status == 404

    sign_in(page, live_server, staff, secret=staff_secret)
    page.goto(live_server.url + "/vendors/")
    page.get_by_role("link", name="Moderation queue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderation queue")
    queued = page.get_by_test_id("queue-lumen-count")
    queued.get_by_role("link", name="Review Lumen Count", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Count")
    expect(page.locator(".facts")).to_contain_text("Electronics")
    expect(page.locator(".facts")).to_contain_text("OEE monitoring")
    shoot("03-moderation-detail")
    page.get_by_test_id("approve").click()
    expect(page.get_by_text("Lumen Count is published.")).to_be_visible()
    assert owner.email in mailoutbox[-1].to
    assert "Lumen Count" in mailoutbox[-1].subject
    sign_out(page)

    page.goto(live_server.url + "/catalog/")
    page.get_by_role("searchbox", name="Search the catalog").fill("Lumen Count")
    page.get_by_role("searchbox", name="Search the catalog").press("Enter")
    results = page.get_by_role("list", name="Listings")
    results.get_by_role("link", name="Lumen Count", exact=True).click()
    expect(page).to_have_url(re.compile(r"/catalog/lumen-count/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumen Count")
    expect(page.locator(".listing-hero__tagline")).to_have_text("Counts parts from any camera")
    expect(page.get_by_test_id("preview-banner")).to_have_count(0)
    shoot("04-published-listing")
