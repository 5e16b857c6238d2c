"""The operator face: JSON API, dashboard, metrics (``create_api_app``)."""

from __future__ import annotations

from .app import API_PREFIX, create_api_app
from .config import ApiSettings, load_settings

__all__ = ["API_PREFIX", "ApiSettings", "create_api_app", "load_settings"]
