"""Commissioning routes of helper H6: practice variation on the area's own data (in
`joinedup.web.practices`, included here because this module is already wired into the app).
The workforce baseline and inequalities lens routes will join them here."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from joinedup.web.practices import router as practices_router

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
router.include_router(practices_router)
