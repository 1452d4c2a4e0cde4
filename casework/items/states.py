"""The states of a work item, in one place."""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    NEW = "new"  # collected, not yet taken
    IN_PROGRESS = "in_progress"  # a worker holds its lease
    AWAITING_SIGNOFF = "awaiting_signoff"  # parked at a step a caseworker must decide
    READY = "ready"  # decided: the next run goes on from the signed-off step
    DONE = "done"  # the handler finished (including work a caseworker rejected)
    FAILED = "failed"  # an attempt failed; tried again after a wait, up to a limit
    MANUAL = "manual"  # handed to a person (attempts used up, or a step left to a person)


#: States a worker may take an item from (``failed`` once its wait is over; ``in_progress`` once
#: its holder's lease ran out).
CLAIMABLE = frozenset({ItemState.NEW, ItemState.READY, ItemState.FAILED})
FINAL = frozenset({ItemState.DONE, ItemState.MANUAL})
