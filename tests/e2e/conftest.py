"""Real-browser journeys: Playwright drives Debian's Chromium against pytest-django's live server.

Screenshots go to test-results/screenshots/ (kept by CI as artifacts).
"""

import os
import time
from pathlib import Path

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from playwright.sync_api import expect

from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the test still talks to the database
# synchronously, which is safe here because nothing else runs in this thread meanwhile.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"

SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def _chromium() -> str | None:
    return next((path for path in CHROMIUM_CANDIDATES if os.access(path, os.X_OK)), None)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = _chromium()
    if executable is None:
        pytest.skip("Debian's Chromium is not installed (run `make test` as root to install it)")
    return {**browser_type_launch_args, "executable_path": executable}


@pytest.fixture(params=list(SCREENS))
def screen(request):
    return request.param


@pytest.fixture
def browser_context_args(browser_context_args, screen):
    return {**browser_context_args, **SCREENS[screen], "locale": "en-US"}


@pytest.fixture
def shoot(page, screen, request):
    """shoot("name") saves a full-page screenshot named after the test, step and screen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = request.node.originalname

    def _shoot(step: str) -> Path:
        path = SCREENSHOTS / f"{test}--{step}--{screen}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shoot


def open_menu(page) -> None:
    """On a phone the navigation is folded behind the menu button: open it if it is shown."""
    toggle = page.locator("[data-testid=menu-toggle]")
    if toggle.count() and toggle.is_visible():
        menu_open = page.locator("[data-testid=menu]").get_attribute("open")
        if menu_open is None:
            toggle.click()


def with_authenticator(user) -> str:
    """Give the person an authenticator app (vendor owners and staff need one); return its
    secret, so that the test can type the code the app would show."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str) -> str:
    """The code an authenticator app shows now (waiting out the last seconds of a period, so
    that the code is still valid when the server checks it)."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 3:
        time.sleep(left + 0.2)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def sign_in(page, live_server, user, *, secret: str | None = None) -> None:
    """Sign in with the password, and the authenticator's code when the person has one."""
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    if secret is not None:
        expect(page.locator("input[name=code]")).to_be_visible()  # the two-factor step
        page.fill("input[name=code]", totp_code(secret))
        page.locator("main").get_by_role("button", name="Sign in").click()
    open_menu(page)
    expect(page.get_by_test_id("menu")).to_contain_text(f"Signed in as {user.email}")
