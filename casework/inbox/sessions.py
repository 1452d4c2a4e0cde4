"""Server-side inbox sessions: created at login, checked on every request, revocable at once.

The cookie holds a random token; ``inbox_sessions`` holds its SHA-256 (a stolen database does
not give working cookies), the user, the CSRF token, and when it was made and last used. A
session ends when it is revoked (logout, "log out everywhere", deactivation, rotation), after
``session_idle_seconds`` without a request, or ``session_max_age_seconds`` after login. When the
user's roles or departments change, the next request rotates it: a new token and CSRF token,
the old row revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework.db.models import InboxSession
from casework.inbox.identity import User, load_user

#: ``last_seen_at`` is written at most this often (not on every request).
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Live:
    """A valid session: its token (new when rotated), CSRF token and user."""

    token: str
    csrf: str
    user: User
    rotated: bool = False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def privileges(user: User) -> str:
    """A digest of what the user may see and do; a change means a new session."""
    text = "|".join(sorted(user.roles)) + "#" + "|".join(sorted(user.departments))
    return hashlib.sha256(text.encode()).hexdigest()


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def create(s: Session, user: User, *, now: datetime | None = None,
           id_token: str | None = None) -> Live:
    now = now or datetime.now(UTC)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s.add(InboxSession(id=digest(token), user_id=user.id, csrf=csrf,
                       privileges=privileges(user), created_at=now, last_seen_at=now,
                       id_token=id_token))
    return Live(token=token, csrf=csrf, user=user)


def lookup(s: Session, token: str, *, idle_seconds: float, max_age_seconds: float,
           now: datetime | None = None) -> Live | None:
    """The live session for this cookie token, rotated if the user's privileges changed;
    None when unknown, revoked, idle too long, too old, or the user is no longer active."""
    now = now or datetime.now(UTC)
    row = s.get(InboxSession, digest(token))
    if row is None or row.revoked_at is not None:
        return None
    if (now - _aware(row.created_at)).total_seconds() > max_age_seconds:
        _revoke_row(s, row, "expired", now)
        return None
    if (now - _aware(row.last_seen_at)).total_seconds() > idle_seconds:
        _revoke_row(s, row, "idle", now)
        return None
    user = load_user(s, row.user_id)
    if user is None:  # deactivated (or removed): every session of theirs is over
        revoke_user(s, row.user_id, "deactivated", now=now)
        return None
    if privileges(user) != row.privileges:
        _revoke_row(s, row, "rotated", now)
        fresh = create(s, user, now=now, id_token=row.id_token)
        # Keep the login time: rotation must not extend the absolute timeout.
        s.flush()
        s.execute(update(InboxSession).where(InboxSession.id == digest(fresh.token))
                  .values(created_at=row.created_at))
        return Live(token=fresh.token, csrf=fresh.csrf, user=user, rotated=True)
    if now - _aware(row.last_seen_at) > TOUCH_EVERY:
        row.last_seen_at = now
    return Live(token=token, csrf=row.csrf, user=user)


def id_token_of(s: Session, token: str) -> str | None:
    row = s.get(InboxSession, digest(token))
    return row.id_token if row is not None else None


def _revoke_row(s: Session, row: InboxSession, why: str, now: datetime) -> None:
    row.revoked_at, row.revoked_why = now, why
    row.id_token = None


def revoke(s: Session, token: str, why: str = "logout", now: datetime | None = None) -> bool:
    row = s.get(InboxSession, digest(token))
    if row is None or row.revoked_at is not None:
        return False
    _revoke_row(s, row, why, now or datetime.now(UTC))
    return True


def revoke_user(s: Session, user_id: str, why: str = "logout_everywhere",
                now: datetime | None = None) -> int:
    """End every session of this user; returns how many were live."""
    return s.execute(
        update(InboxSession)
        .where(InboxSession.user_id == user_id, InboxSession.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC), revoked_why=why, id_token=None)
        .execution_options(synchronize_session=False)
    ).rowcount


def live_count(s: Session, user_id: str) -> int:
    return len(s.scalars(select(InboxSession.id).where(
        InboxSession.user_id == user_id, InboxSession.revoked_at.is_(None))).all())
