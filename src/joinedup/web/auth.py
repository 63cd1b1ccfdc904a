"""Sign-in, sign-out and password change; the session middleware that finds the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/sign-in", name="sign_in")
def sign_in_page() -> HTMLResponse:
    # Placeholder until the sign-in form lands.
    return HTMLResponse("<h1>Sign in</h1>", status_code=200)
