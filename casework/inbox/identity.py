"""Who a user is and what they may see: departments and roles, enforced in every query.

A task is visible to a user when one of the user's departments is among the departments that
sign it off (the policy's ``signoff_by.departments``, stored on the task as
``signoff_departments``; empty means the case's own department) and one of the user's roles is
among the task's ``signoff_roles``. Anything else is "not found" (404), so guessing another
department's task ids tells nothing about them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, and_, cast, false, or_, select
from sqlalchemy.orm import Session

from casework.db.models import InboxUser, InboxUserDepartment, InboxUserRole, SignoffTask

ROLES = ("caseworker", "team_lead", "manager", "automation_admin")
LEAD_ROLES = frozenset({"team_lead", "manager"})
#: May read a case's full explanation (every department's steps) for the citizen.
FULL_EXPLANATION_ROLES = frozenset({"manager"})


@dataclass(frozen=True)
class User:
    id: str
    display_name: str
    language: str | None
    departments: frozenset[str]
    roles: frozenset[str]

    @property
    def is_lead(self) -> bool:
        return bool(self.roles & LEAD_ROLES)

    @property
    def sees_full_explanation(self) -> bool:
        return bool(self.roles & FULL_EXPLANATION_ROLES)


def load_user(session: Session, user_id: str) -> User | None:
    row = session.get(InboxUser, user_id)
    if row is None or not row.active:
        return None
    departments = session.scalars(
        select(InboxUserDepartment.department).where(InboxUserDepartment.user_id == user_id)
    ).all()
    roles = session.scalars(select(InboxUserRole.role).where(InboxUserRole.user_id == user_id))
    return User(id=row.id, display_name=row.display_name, language=row.language,
                departments=frozenset(departments), roles=frozenset(r for r in roles if r in ROLES))


def display_names(session: Session, user_ids: set[str]) -> dict[str, str]:
    ids = {u for u in user_ids if u}
    if not ids:
        return {}
    rows = session.execute(select(InboxUser.id, InboxUser.display_name)
                           .where(InboxUser.id.in_(ids)))
    return {uid: name for uid, name in rows}


def visible_to(user: User) -> ColumnElement[bool]:
    """SQL condition: the task belongs to one of the user's departments and roles."""
    if not user.departments or not user.roles:
        return false()
    # signoff_roles and signoff_departments are JSON lists; matching their text (each name as
    # JSON writes it, LIKE wildcards escaped) keeps this portable (SQLite and PostgreSQL).
    roles_text = cast(SignoffTask.signoff_roles, String)
    role_match = or_(*[roles_text.like(_json_like(role), escape="!")
                       for role in sorted(user.roles)])
    departments = sorted(user.departments)
    departments_text = cast(SignoffTask.signoff_departments, String)
    department_match = or_(
        *[departments_text.like(_json_like(d), escape="!") for d in departments],
        and_(or_(SignoffTask.signoff_departments.is_(None),
                 departments_text.in_(("[]", "null"))),
             SignoffTask.department.in_(departments)))
    return and_(department_match, role_match)


def _json_like(name: str) -> str:
    """A LIKE pattern matching ``name`` as an element of a stored JSON list."""
    quoted = json.dumps(name)
    return "%" + quoted.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


def deciding_departments(task: SignoffTask) -> set[str]:
    """The departments that see and decide the task (``signoff_by.departments``, else the
    case's own department)."""
    listed = {d for d in task.signoff_departments or [] if isinstance(d, str)}
    return listed or ({task.department} if task.department else set())


def can_see(user: User, task: SignoffTask) -> bool:
    return (bool(user.departments & deciding_departments(task))
            and bool(user.roles & set(task.signoff_roles or [])))


def get_visible_task(session: Session, user: User, task_id: str) -> SignoffTask | None:
    """The task if this user may see it, else None (the caller answers 404)."""
    task = session.get(SignoffTask, task_id)
    if task is None or not can_see(user, task):
        return None
    return task


def department_members(session: Session, department: str | None) -> list[tuple[str, str]]:
    """(id, name) of active users of a department, for the team lead's reassign list."""
    if department is None:
        return []
    rows = session.execute(
        select(InboxUser.id, InboxUser.display_name)
        .join(InboxUserDepartment, InboxUserDepartment.user_id == InboxUser.id)
        .where(InboxUserDepartment.department == department, InboxUser.active.is_(True))
        .order_by(InboxUser.display_name)
    )
    return [(uid, name) for uid, name in rows]
