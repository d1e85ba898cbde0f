"""The site icon: served as SVG, /favicon.ico sent to it, and named by every page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx

from server.http import icon
from tests.harness import RunningServer


async def test_the_icon_is_an_svg_and_favicon_ico_redirects_to_it(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        svg = await http.get(icon.PATH)
        legacy = await http.get("/favicon.ico")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert ET.fromstring(svg.text).tag == "{http://www.w3.org/2000/svg}svg"
    assert (legacy.status_code, legacy.headers["location"]) == (301, icon.PATH)


async def test_every_page_names_the_icon(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, follow_redirects=True) as http:
        pages = [await http.get(path) for path in ("/", "/console", "/console/password")]
    for page in pages:
        assert page.status_code == 200, page.url
        assert icon.LINK in page.text, page.url
