"""Demo users for local development and tests (departments of the demo letters)."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from casework.db.models import InboxUser, InboxUserDepartment, InboxUserRole
from casework.db.session import transaction

DEMO_DEPARTMENTS = ("byggeri", "borgerservice", "teknik-miljo", "sundhed-aeldre", "born-unge",
                    "skole")

#: id, display name, language, departments, roles
DEMO_USERS: tuple[tuple[str, str, str | None, tuple[str, ...], tuple[str, ...]], ...] = (
    ("anna.byg", "Anna Byggesag", "da", ("byggeri",), ("caseworker",)),
    ("bo.byg", "Bo Byggesag", None, ("byggeri",), ("caseworker",)),
    ("lise.leder", "Lise Teamleder", "da", ("byggeri", "teknik-miljo"),
     ("caseworker", "team_lead")),
    ("karl.borger", "Karl Borgerservice", "en", ("borgerservice",), ("caseworker",)),
    ("tina.teknik", "Tina Teknik og Miljø", None, ("teknik-miljo",), ("caseworker",)),
    ("sara.sundhed", "Sara Sundhed og Ældre", None, ("sundhed-aeldre",), ("caseworker",)),
    ("bent.born", "Bent Børn og Unge", None, ("born-unge",), ("caseworker",)),
    ("signe.skole", "Signe Skole", None, ("skole",), ("caseworker",)),
    ("mette.chef", "Mette Chef", "da", DEMO_DEPARTMENTS, ("manager",)),
    ("admin", "Automatiseringsadministrator", "en", (), ("automation_admin",)),
)


def seed_demo_users(engine: Engine | None = None) -> int:
    """Create or refresh the demo users; returns how many. Safe to run again."""
    with transaction(engine) as s:
        for uid, name, language, departments, roles in DEMO_USERS:
            user = s.get(InboxUser, uid)
            if user is None:
                s.add(InboxUser(id=uid, display_name=name, language=language, active=True))
            else:
                user.display_name, user.language, user.active = name, language, True
            s.flush()
            s.execute(delete(InboxUserDepartment).where(InboxUserDepartment.user_id == uid))
            s.execute(delete(InboxUserRole).where(InboxUserRole.user_id == uid))
            s.add_all([InboxUserDepartment(user_id=uid, department=d) for d in departments])
            s.add_all([InboxUserRole(user_id=uid, role=r) for r in roles])
    return len(DEMO_USERS)
