"""What the policy tests share besides fixtures: a valid policy text and the writer's type
(in a module of its own, so test files never import ``conftest``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

GOOD_POLICY = """\
flow: {flow}
description: Suggest where an incoming document belongs in the journal (KLE).
department: borgerservice
steps:
  read_letter:
    kind: preparatory
    mode: autonomous
    manual_minutes: 2
  suggest_journal:
    kind: preparatory
    mode: autonomous
    manual_minutes: 6
    description: Suggest a KLE journal number.
    signoff_when:
      - confidence < 0.6
      - case.sensitive
      - case.amount > 50000 or result.kle in ['32.18.04', "27.24.00"]
    signoff_by: {{roles: [caseworker], departments: []}}
    deadline_hours: 72
    on_overdue: remind
    four_eyes: false
  grant_benefit:
    kind: decision
    mode: autonomous
    manual_minutes: 20
    legal_basis: ["Lov om social service § 41"]
    effects: [grants_application]
    facts_relied_on: [the child's diagnosis, the documented extra costs]
    automation_legal_basis: ["Lov om social service § 41 a (automated decisions)"]
ai_act:
  risk: minimal
"""

WritePolicy = Callable[..., Path]
