"""The explanation page's scope: which steps of a case a user may read.

A caseworker or team lead reads the steps her departments may see (the same rule as the queue:
``identity.can_see`` for steps with a sign-off task, the step's department for steps that ran on
their own); the citizen's full explanation (every department) is for ``FULL_EXPLANATION_ROLES``
and the CLI (``casework explain``). Other departments' suggestions, deciders and reasons never
reach the page.
"""

from __future__ import annotations

from sqlalchemy import Engine

from casework.db.models import LedgerEntry, SignoffTask
from casework.inbox.identity import User, can_see
from casework.rights.explain import Explanation, KeepStep, Language, explain_case


def keep_for(user: User) -> KeepStep | None:
    """The step filter for this user (None: the full explanation)."""
    if user.sees_full_explanation:
        return None

    def keep(entry: LedgerEntry, task: SignoffTask | None) -> bool:
        if task is not None:
            return can_see(user, task)
        return entry.department is not None and entry.department in user.departments

    return keep


def explanation_for(engine: Engine, user: User, case_ref: str, language: Language
                    ) -> Explanation:
    return explain_case(case_ref, language=language, engine=engine, keep=keep_for(user))
