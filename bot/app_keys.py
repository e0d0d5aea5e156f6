"""Typed keys for what the aiohttp application stores."""

from __future__ import annotations

from aiohttp import web

from bot.services import Services

SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
