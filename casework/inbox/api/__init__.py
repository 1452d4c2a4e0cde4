"""The inbox's JSON API for scripts (service tokens, no cookies): ``mount_api(app, ...)``."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from casework.inbox.settings import InboxSettings


def mount_api(app: FastAPI, engine: Engine, settings: InboxSettings) -> None:
    from casework.inbox.api.router import create_api

    app.mount("/api", create_api(engine, settings))
