"""Real-browser journeys: Playwright drives Debian's Chromium against pytest-django's live server.

Screenshots go to test-results/screenshots/ (kept by CI as artifacts).
"""

import os
from pathlib import Path

import pytest

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
