"""Multidisciplinary team meetings: schedule, agenda, decisions, actions, minutes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
