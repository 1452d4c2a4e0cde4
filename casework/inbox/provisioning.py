"""Give a person (by the identity provider's ``sub``) access to the inbox, or take it away.

With OpenID Connect the provider proves who someone is; what they may see (departments) and
do (roles) is kept here, set by an administrator with ``casework inbox user-set``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Engine, delete

from casework.db.models import InboxUser, InboxUserDepartment, InboxUserRole
from casework.db.session import transaction
from casework.inbox.i18n import LANGUAGES
from casework.inbox.identity import ROLES
from casework.inbox.sessions import revoke_user


class UserAccess(BaseModel):
    id: str = Field(min_length=1, max_length=100, description="The provider's sub claim.")
    display_name: str = Field(min_length=1, max_length=200)
    departments: list[str] = Field(default_factory=list)
    roles: list[str] = Field(min_length=1)
    language: str | None = None

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str]) -> list[str]:
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role(s) {', '.join(unknown)}; known: {', '.join(ROLES)}")
        return sorted(set(roles))

    @field_validator("departments")
    @classmethod
    def _clean_departments(cls, departments: list[str]) -> list[str]:
        cleaned = sorted({d.strip() for d in departments if d.strip()})
        if any(len(d) > 100 for d in cleaned):
            raise ValueError("a department name is longer than 100 characters")
        return cleaned

    @field_validator("language")
    @classmethod
    def _known_language(cls, language: str | None) -> str | None:
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return language


def set_user(access: UserAccess, engine: Engine | None = None) -> bool:
    """Create or replace a user's name, departments and roles (and reactivate them).
    Returns True when the user is new."""
    with transaction(engine) as s:
        user = s.get(InboxUser, access.id)
        created = user is None
        if user is None:
            s.add(InboxUser(id=access.id, display_name=access.display_name,
                            language=access.language, active=True))
        else:
            user.display_name, user.active = access.display_name, True
            if access.language is not None:
                user.language = access.language
        s.flush()
        s.execute(delete(InboxUserDepartment).where(InboxUserDepartment.user_id == access.id))
        s.execute(delete(InboxUserRole).where(InboxUserRole.user_id == access.id))
        s.add_all([InboxUserDepartment(user_id=access.id, department=d)
                   for d in access.departments])
        s.add_all([InboxUserRole(user_id=access.id, role=r) for r in access.roles])
    return created


def deactivate_user(user_id: str, engine: Engine | None = None) -> bool:
    """The user can no longer log in; their past decisions keep their name. False if unknown."""
    with transaction(engine) as s:
        user = s.get(InboxUser, user_id)
        if user is None:
            return False
        user.active = False
        revoke_user(s, user_id, "deactivated")  # their open sessions end now, not at expiry
    return True
