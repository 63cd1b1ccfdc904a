"""What the browser tests share: the live server, Chromium's settings, problem collection, and
signing in through the real sign-in form.

A `LiveServer` prepares its care store before serving: migrated, organisations mirrored from the
population store, and one demo user per role (`create_demo_users`: the GP works in the area's
first neighbourhood). Its `credentials` say how each role signs in; `sign_in` fills in the form.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path
from typing import Any, ClassVar

import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    ViewportSize,
)

from joinedup.carestore.db import make_engine, session_factory
from joinedup.governance import passwords, users
from joinedup.population.organisation_mirror import sync_organisations
from joinedup.population.store import PopulationStore
from joinedup.settings import Settings
from joinedup.web import auth
from joinedup.web.app import create_app
from tests.carestore_support import migrated

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: Screenshots are for people reviewing a change to the pages, so they are taken when asked for
#: (``JOINEDUP_SCREENSHOTS=1``): about ninety cost ~20 s of every run that nobody looks at.
SCREENSHOTS_WANTED = os.environ.get("JOINEDUP_SCREENSHOTS") == "1"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


class LiveServer:
    """The app served by uvicorn in a background thread, with demo users to sign in as."""

    # Every server started in this test session, by URL, so a browser context pointed at one
    # knows whose credentials to use.
    running: ClassVar[dict[str, LiveServer]] = {}

    def __init__(self, settings: Settings) -> None:
        #: role -> (username, password) of the demo user of that role.
        self.credentials = prepare_care_store(settings)
        # Bind before starting: the kernel queues connections until uvicorn accepts them, so
        # the first request needs no wait-and-retry.
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        host, port = self.socket.getsockname()
        self.url = f"http://{host}:{port}"
        app = create_app(settings)
        auth.install(app)  # a no-op once create_app installs sign-in itself
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        LiveServer.running[self.url] = self
        return self

    def __exit__(self, *exc: object) -> None:
        LiveServer.running.pop(self.url, None)
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


def capture(target: Page | Locator, name: str, **options: Any) -> Path:
    """Save a screenshot of `target` (a page or one element) as test-artifacts/screenshots/
    NAME.png when screenshots are wanted (`SCREENSHOTS_WANTED`); returns where it goes."""
    path = SCREENSHOTS / f"{name}.png"
    if SCREENSHOTS_WANTED:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target.screenshot(path=str(path), **options)
    return path


class PageProblems:
    """Console errors, page errors and failed requests seen by a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)

    def _failed(self, request: Request) -> None:
        # A request the browser cancelled because the page navigated away (Back pressed while
        # the favicon loads) is not the page's fault; a refused or broken one is.
        if request.failure != "net::ERR_ABORTED":
            self.errors.append(f"failed: {request.url} ({request.failure})")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"console {message.type}: {message.text}")


def prepare_care_store(settings: Settings) -> dict[str, tuple[str, str]]:
    """Migrate the care store, mirror the organisations and make one demo user per role.

    Without population data there are no organisations: only a demo GP working nowhere, so the
    "no data yet" page can still be reached signed in.
    """
    migrated(settings.database_url)
    sessions = session_factory(make_engine(settings.database_url))
    store = PopulationStore(settings.population_dir)
    if store.exists():
        sync_organisations(store, sessions)
        made = users.create_demo_users(sessions)
        return {role: (username, password) for username, role, password in made}
    # A password given, as the demo gives its users theirs (a generated one must be changed
    # at the first sign-in).
    password = passwords.generate_password("demo-gp")
    user, _ = users.add_user(sessions, "demo-gp", "Demo GP", "gp", [], password, actor="test")
    return {"gp": (user.username, password)}


def sign_in(page: Page, server: LiveServer, role: str = "gp") -> None:
    """Sign `page` in as the server's demo user of `role`, through the sign-in form."""
    username, password = server.credentials[role]
    page.goto(server.url + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/sign-in" not in url)


class SigningInBrowser:
    """A `Browser` whose new contexts start signed in (as the demo GP unless told otherwise)
    when their `base_url` is a `LiveServer` of this session; everything else is the browser's.

    ``browser.new_context(..., signed_in_as="manager")`` signs in as another role;
    ``signed_in_as=None`` leaves the context signed out.
    """

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, *, signed_in_as: str | None = "gp", **options: Any) -> BrowserContext:
        context = self._browser.new_context(**options)
        server = LiveServer.running.get(str(options.get("base_url", "")).rstrip("/"))
        if server is not None and signed_in_as is not None:
            page = context.new_page()
            try:
                sign_in(page, server, signed_in_as)
            finally:
                page.close()
        return context


def header_account(page: Page) -> str:
    """The signed-in user's name and role as the header shows them (whitespace collapsed)."""
    text = page.locator('header [data-account="user"]').inner_text()
    return re.sub(r"\s+", " ", text).strip()
