"""Locust load test: signed-in users mixing the person page, worklist, case-finding list,
register additions and care-plan saves (issue 14). Run by `bench/load/run_load.py`, which sets
up the users and the plan file this reads (``JOINEDUP_LOAD_PLAN``) and counts the writes
afterwards against what the clients say they did (``JOINEDUP_LOAD_TALLY``).

Each simulated user signs in once through the real form (one account per user), then works
with no think time beyond 0.5–1.5 s between requests. Writes are tallied by the client only
when the server answered that they were done (a 303 to the page that shows them).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from forms import form_fields  # bench/load/forms.py (Locust puts this folder on the path)
from locust import FastHttpUser, between, events, task

PLAN: dict[str, Any] = json.loads(Path(os.environ["JOINEDUP_LOAD_PLAN"]).read_text())
_accounts = itertools.count()
_tally_lock = threading.Lock()
#: username -> what the server confirmed: register additions (person ids) and plan saves.
TALLY: dict[str, dict[str, list[int]]] = {}


ADDED = "Added to the coordinated care register."
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form_body(fields: Mapping[str, str] | Iterable[tuple[str, str]]) -> str:
    """Fields as a browser posts a form (FastHttpUser sends a string body as it is)."""
    return urlencode(list(fields.items()) if isinstance(fields, Mapping) else list(fields))


class CareUser(FastHttpUser):
    """One signed-in user. FastHttpUser (geventhttpclient) rather than HttpUser (requests):
    the client then costs a fraction of the CPU per request, which matters when Locust runs on
    the server's own cores."""

    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        account = PLAN["accounts"][next(_accounts) % len(PLAN["accounts"])]
        self.username = account["username"]
        self.to_add: list[int] = list(account["to_add"])
        self.viewable: list[int] = PLAN["viewable"]
        self.planned: list[int] = PLAN["planned"]
        with _tally_lock:
            TALLY.setdefault(self.username, {"added": [], "plan_saves": []})
        page = self.client.get("/sign-in", name="sign-in form")
        fields = dict(form_fields(page.text, "/sign-in"))
        fields.update(username=self.username, password=account["password"])
        with self.client.post(
            "/sign-in",
            data=form_body(fields),
            headers=FORM,
            name="sign in",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code != 303:
                answer.failure(f"sign-in answered {answer.status_code}")

    @task(4)
    def person_page(self) -> None:
        person = random.choice(self.viewable)
        self.client.get(f"/people/{person}", name="person page")

    @task(3)
    def worklist(self) -> None:
        self.client.get("/care-coordination/worklist", name="worklist")

    @task(2)
    def case_finding_list(self) -> None:
        list_id = random.choice(PLAN["case_finding_lists"])
        self.client.get(f"/case-finding/{list_id}", name="case-finding list")

    @task(1)
    def register_addition(self) -> None:
        if not self.to_add:
            return
        person = self.to_add.pop()
        page = self.client.get(f"/people/{person}", name="person page")
        fields = dict(form_fields(page.text, "/care-coordination/register"))
        if "csrf_token" not in fields:
            return  # the page offered no addition (e.g. already on the register)
        fields.update(person_id=str(person), reason="Load test addition.")
        # Followed to the person page, whose flash message says whether it was added.
        with self.client.post(
            "/care-coordination/register",
            data=form_body(fields),
            headers=FORM,
            name="register addition",
            catch_response=True,
        ) as answer:
            if answer.status_code == 200 and ADDED in answer.text:
                self._tally("added", person)
            elif answer.status_code >= 400:
                answer.failure(f"{answer.status_code}")

    @task(1)
    def care_plan_save(self) -> None:
        person = random.choice(self.planned)
        form = self.client.get(f"/people/{person}/care-plan/edit", name="care-plan edit form")
        fields = form_fields(form.text, f"/people/{person}/care-plan/edit")
        if not fields:
            return
        stamp = f"{self.username} {random.randrange(10**9)}"
        fields = [(k, v) for k, v in fields if k not in ("what_matters", "change_note")]
        fields += [("what_matters", f"To stay at home (load test {stamp})."),
                   ("change_note", "Load test save.")]  # fmt: skip
        with self.client.post(
            f"/people/{person}/care-plan/edit",
            data=form_body(fields),
            headers=FORM,
            name="care-plan save",
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if answer.status_code == 303:
                self._tally("plan_saves", person)
            elif answer.status_code == 409:
                answer.success()  # someone saved meanwhile and fields clash: asked, not lost
            elif answer.status_code >= 400:
                answer.failure(f"{answer.status_code}")

    def _tally(self, kind: str, person: int) -> None:
        with _tally_lock:
            TALLY[self.username][kind].append(person)


@events.test_stop.add_listener
def write_tally(**_: Any) -> None:
    with _tally_lock:
        Path(os.environ["JOINEDUP_LOAD_TALLY"]).write_text(json.dumps(TALLY, indent=1))
