"""The browser fixtures (test_browser.py) for every browser test in this folder."""

from playwright.async_api import expect

from tests.e2e.test_browser import browser, chromium, site

__all__ = ["browser", "chromium", "site"]

# Each expectation waits for the page's state; on CI's two busy cores (two test workers, a
# Postgres, a Chromium each) a console's first socket can take longer than Playwright's 5 s.
# A passing check still returns as soon as the state is there.
expect.set_options(timeout=20_000)
