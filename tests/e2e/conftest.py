"""The browser fixtures (test_browser.py) for every browser test in this folder."""

from tests.e2e.test_browser import browser, chromium, site

__all__ = ["browser", "chromium", "site"]
