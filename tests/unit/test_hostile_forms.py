"""Every page's forms, sent what no browser of ours sends: a clear refusal, never a server error.

Each page is read as the people with the most rights to it (alice, who works with kit, and the area lead).
Every field its forms name, and every id a page reads from a form, is then sent values a hand-made request
could hold: words where a number belongs, a number no row has, the NUL character PostgreSQL cannot store.
"""

from __future__ import annotations

import re

import pytest

from tests.unit.test_access_matrix import EXPECTED, discover, url_with_records

HOSTILE = ["not a number", "9" * 30, "-1", "1\x00", ""]
# Ids the views read straight from a form, besides the fields each page's own forms name.
IDS = ["opening", "match", "merge", "child", "involvement", "page", "level", "new", "omit", "variant", "form"]

PAGES = [(name, converters) for name, converters in discover() if not name.startswith("api-")]


def fields_of(html: str) -> set[str]:
    return set(re.findall(r'\bname="([^"]+)"', html)) - {"csrfmiddlewaretoken"}


@pytest.mark.parametrize(("name", "converters"), PAGES, ids=[n for n, _ in PAGES])
def test_no_form_breaks_on_what_a_hand_made_request_sends(request, client_for, settings, kit, alice, name, converters):
    settings.REDIS_URL = ""  # /healthz answers for the embedded default here
    url = url_with_records(name, converters, kit=kit, alice=alice)
    for persona in ("alice", "lead"):
        if EXPECTED[name][persona] >= 400 and EXPECTED[name][persona] != 405:
            continue
        client = client_for(request.getfixturevalue(persona))
        page = client.get(url)
        html = page.status_code == 200 and page["Content-Type"].startswith("text/html")
        names = (fields_of(page.content.decode()) if html else set()) | set(IDS)
        for value in HOSTILE:
            body = dict.fromkeys(names, value)
            for method, response in (("GET", client.get(url, body)), ("POST", client.post(url, body))):
                assert response.status_code < 500, f"{persona} {method} {url} with {value!r}"
            client = client_for(request.getfixturevalue(persona))  # a page may sign out or switch the session
