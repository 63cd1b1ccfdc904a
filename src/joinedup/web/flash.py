"""One-shot messages after a redirect ("flash"), held in the server-side session.

A page never shows a notice or error taken from its web address: ``?notice=Phone 0800 …`` in a
link would otherwise put anyone's words into an official-looking box (issue 14, ADR 0007). A
route that redirects calls `redirect_with` (the message goes onto the signed-in user's session
row, `governance.sessions.set_flash`); the page it redirects to calls `take` and shows the
message once. Messages that never vary are instead codes in a fixed table of the page itself
(e.g. the MDT pages' ``?decided``).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from joinedup.governance import sessions as web_sessions
from joinedup.governance.roles import Principal
from joinedup.web.app_state import get_sessions


def redirect_with(
    request: Request, principal: Principal, path: str, *, notice: str = "", error: str = ""
) -> Response:
    """A 303 to `path` whose page will show `notice` or `error` (an error wins) once.

    Both functions touch the store: call them from synchronous routes (FastAPI runs those in
    its thread pool), as every form route here is."""
    kind, text = ("error", error) if error else ("notice", notice)
    if text and principal.session_id:
        web_sessions.set_flash(get_sessions(request), principal.session_id, kind, text)
    return RedirectResponse(path, status_code=303)


def take(request: Request, principal: Principal) -> dict[str, str]:
    """The message waiting for this page as {"notice": …, "error": …}, one or both empty."""
    messages = dict.fromkeys(web_sessions.FLASH_KINDS, "")
    # The session row read to sign this request in said whether a message waits: most pages
    # have none, and need not ask again (issue 14).
    if principal.session_id and principal.flash_waiting:
        flash = web_sessions.take_flash(get_sessions(request), principal.session_id)
        if flash:
            messages[flash["kind"]] = flash["text"]
    return messages
