"""Holistic care plans: write, version, compare, agree, print."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
