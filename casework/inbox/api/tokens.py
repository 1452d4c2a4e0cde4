"""Service tokens for scripts: created once (shown once), stored as SHA-256, scoped, revocable.

A token acts for an inbox user and never beyond them: its departments and roles are the user's,
narrowed to the token's own lists when those are set. A deactivated user's tokens stop working
with the user; a revoked token stops at once (every call looks it up).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from casework import audit
from casework.db.models import ServiceToken
from casework.inbox.identity import ROLES, User, load_user

PREFIX = "cwt_"


class TokenError(ValueError):
    """The token cannot be created or revoked; the message says why in one line."""


@dataclass(frozen=True)
class CreatedToken:
    id: str
    secret: str  # shown once; only its hash is stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, *, user_id: str, name: str, by: str,
                 departments: list[str] | None = None, roles: list[str] | None = None,
                 now: datetime | None = None) -> CreatedToken:
    """A new token for ``user_id``; ``departments``/``roles`` must be the user's own."""
    user = load_user(session, user_id)
    if user is None:
        raise TokenError(f"no active inbox user {user_id!r} (casework inbox users lists them)")
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("--name: give the token a name of 1 to 100 characters")
    for role in roles or []:
        if role not in ROLES:
            raise TokenError(f"--role {role!r}: not a role ({', '.join(ROLES)})")
        if role not in user.roles:
            raise TokenError(f"--role {role!r}: {user_id} does not have that role")
    for department in departments or []:
        if department not in user.departments:
            raise TokenError(f"--department {department!r}: {user_id} is not in it")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = now or datetime.now(UTC)
    row = ServiceToken(id=str(uuid.uuid4()), token_hash=digest(secret), name=name,
                       user_id=user_id, departments=sorted(set(departments or [])),
                       roles=sorted(set(roles or [])), created_by=by, created_at=now)
    session.add(row)
    audit.append(session, actor=by, action="inbox.token_created", at=now,
                 details={"token_id": row.id, "name": name, "user": user_id,
                          "departments": row.departments, "roles": row.roles})
    return CreatedToken(id=row.id, secret=secret)


def revoke_token(session: Session, token_id: str, *, by: str,
                 now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    changed = session.execute(
        update(ServiceToken).where(ServiceToken.id == token_id,
                                   ServiceToken.revoked_at.is_(None))
        .values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise TokenError(f"no active token {token_id!r} (casework inbox token list)")
    audit.append(session, actor=by, action="inbox.token_revoked", at=now,
                 details={"token_id": token_id})


def list_tokens(session: Session) -> list[ServiceToken]:
    return list(session.scalars(select(ServiceToken).order_by(ServiceToken.created_at)))


def user_for_token(session: Session, secret: str, *, now: datetime | None = None
                   ) -> tuple[User, ServiceToken] | None:
    """The user a token acts as, within the token's scope; None for an unknown, revoked or
    orphaned token."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ServiceToken).where(ServiceToken.token_hash == digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    user = load_user(session, row.user_id)
    if user is None:
        return None
    departments = user.departments & set(row.departments) if row.departments \
        else user.departments
    roles = user.roles & set(row.roles) if row.roles else user.roles
    now = now or datetime.now(UTC)
    last = row.last_used_at
    if last is None or (now - (last if last.tzinfo else last.replace(tzinfo=UTC))).seconds > 60:
        row.last_used_at = now  # written at most once a minute, not on every call
    return replace(user, departments=frozenset(departments), roles=frozenset(roles)), row
