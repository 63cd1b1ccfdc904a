"""No page offers a link or a button that answers 403 to the same user (issue 13).

The demo care store (register, plans, an MDT meeting) on the scored area; for each role, its
demo user walks the pages in-process from its landing page, collecting every same-site link and
form action, and requests each as that user. None may answer 403: a page must not offer what
its user cannot do. 404 is allowed (a deliberately unknown id); sign-out and other sites are
skipped. Forms are posted empty with the CSRF token, so they fail validation, never 403.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from html import unescape
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from joinedup.care.demo import _principal
from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance.roles import ROLE_IDS, role_book
from joinedup.governance.users import DEMO_PREFIX
from joinedup.settings import Settings
from joinedup.web.app import create_app
from joinedup.web.navigation import landing_href, visible_areas
from tests.auth_support import CSRF_TOKEN, sign_in_as, sign_out
from tests.carestore_support import demo_care_store

#: Pages walked per role (breadth first from the home page). Each kind of link on each kind
#: of page is followed at most `PER_KIND` times (a person's page reached from the register and
#: from a case-finding list are different kinds), so the walk covers every page of the demo
#: rather than a hundred people, on two shared cores.
PAGES_PER_ROLE = 120
PER_KIND = 2
SKIPPED = ("/sign-out", "/static/", "/sign-in")
LINK = re.compile(r'<a\s[^>]*href="([^"#]*)[^"]*"', re.I)
FORM = re.compile(r"<form\s([^>]*)>", re.I)


@pytest.fixture(scope="module")
def app(scored_area: Settings, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    settings, _ = demo_care_store(scored_area, tmp_path_factory.mktemp("dead-ends"))
    return create_app(settings)


def _offers(page: str, html: str) -> tuple[set[str], set[str]]:
    """Same-site links (GET) and form actions (by method) offered by `html` at `page`."""
    links = {urljoin(page, unescape(h)) for h in LINK.findall(html) if h}
    posts = set()
    for attributes in FORM.findall(html):
        action = re.search(r'action="([^"]*)"', attributes)
        target = urljoin(page, unescape(action[1] if action else page))
        method = re.search(r'method="(\w+)"', attributes, re.I)
        (posts if method and method[1].lower() == "post" else links).add(target)
    same_site = lambda u: not urlsplit(u).netloc or urlsplit(u).netloc == "testserver"  # noqa: E731
    keep = lambda u: same_site(u) and not any(urlsplit(u).path.startswith(s) for s in SKIPPED)  # noqa: E731
    return {u for u in links if keep(u)}, {u for u in posts if keep(u)}


def _title_has_markup(html: str) -> bool:
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    return bool(title and "<" in title[1])


def _landing(app: FastAPI, role: str) -> str:
    """The role's landing page, as sign-in computes it (`joinedup.web.auth.landing_page`)."""
    return landing_href(role_book().role(role), app.state.areas)


def _shape(url: str) -> str:
    """The route a URL asks for, ids and query values left out (/people/N?list=)."""
    parts = urlsplit(url)
    keys = sorted(k.split("=")[0] for k in parts.query.split("&") if k)
    return re.sub(r"\d+", "N", parts.path) + "?" + "&".join(keys)


@pytest.mark.parametrize("role", ROLE_IDS)
def test_no_page_offers_what_answers_403(app: FastAPI, role: str) -> None:
    sessions = session_factory(make_engine(app.state.settings.database_url))
    demo_user = _principal(sessions, DEMO_PREFIX + role.replace("_", "-"))
    sign_in_as(app, dataclasses.replace(demo_user, csrf_token=CSRF_TOKEN))
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    try:
        home = _landing(app, role)  # where sign-in takes this role
        queue, seen, posted, refused = deque([home]), {home}, set(), []
        walked: list[str] = []
        mistitled: list[str] = []
        kinds: dict[tuple[str, str], int] = {}
        answers: dict[str, Response] = {}

        def get(url: str) -> Response:  # each page is requested once, checked and walked alike
            if url not in answers:
                answers[url] = client.get(url)
            return answers[url]

        while queue and len(walked) < PAGES_PER_ROLE:
            page = queue.popleft()
            response = get(page)
            walked.append(page)
            moved = response.headers.get("location", "")
            if response.is_redirect and moved not in seen and not urlsplit(moved).netloc:
                seen.add(moved)  # a landing page (the home page sends some roles onward)
                queue.append(moved)
            if response.status_code != 200 or "html" not in response.headers.get(
                "content-type", ""
            ):
                continue
            if _title_has_markup(response.text):  # a template's title block swallowed a page
                mistitled.append(page)
            links, posts = _offers(page, response.text)
            for link in sorted(links - seen):  # every kind of link offered is requested
                seen.add(link)
                kind = (_shape(link), _shape(page))
                kinds[kind] = kinds.get(kind, 0) + 1
                if kinds[kind] > PER_KIND:
                    continue
                if get(link).status_code == 403:
                    refused.append(("GET", page, link))
                queue.append(link)
            for action in sorted(posts - posted):
                posted.add(action)
                answer = client.post(action, data={"csrf_token": CSRF_TOKEN})
                if answer.status_code == 403:
                    refused.append(("POST", page, action))
        if visible_areas(role_book().role(role).permissions.__contains__, app.state.areas):
            assert len(walked) > 1, "the landing page offered nothing to walk"
        if role_book().role(role).permissions >= {"care.write", "record.view"}:
            assert any(p.startswith("/people/") for p in walked), "no person's page was reached"
        assert refused == [], f"{role} is offered what answers 403: {refused}"
        assert mistitled == [], f"markup in the <title> of {mistitled}"
    finally:
        sign_out(app)
