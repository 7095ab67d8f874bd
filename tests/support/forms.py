"""What a page hands its forms: the form token a cookie request must send back."""

from __future__ import annotations

import re

import httpx


def form_token(page: str) -> str:
    """The `_csrf_token` field of a rendered page's forms."""
    found = re.search(r'name="_csrf_token" value="([0-9a-f]+)"', page)
    assert found is not None, "the page has no form token"
    return found.group(1)


def page_form_token(url: str, cookie: str, path: str = "/alerts") -> str:
    """The form token of a logged-in page (`cookie` is the session cookie's value)."""
    page = httpx.get(f"{url}{path}", cookies={"muster_session": cookie})
    assert page.status_code == 200, page.text
    return form_token(page.text)
