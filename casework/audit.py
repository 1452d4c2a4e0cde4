"""Append-only, hash-chained audit log.

Each event's hash covers its content and the previous event's hash, so editing, deleting or
reordering any row breaks the chain from that row on (``verify_chain``). Appends lock the single
``audit_head`` row, so concurrent writers on PostgreSQL and SQLite keep one linear chain.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.db.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _canonical(seq: int, at: datetime, actor: str, action: str, flow: str | None,
               step: str | None, case_ref: str | None, details: dict[str, Any]) -> bytes:
    body = {
        "seq": seq, "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor, "action": action, "flow": flow, "step": step, "case_ref": case_ref,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def _digest(prev_hash: str, payload: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def append(session: Session, *, actor: str, action: str, flow: str | None = None,
           step: str | None = None, case_ref: str | None = None,
           details: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEvent:
    """Add one event inside the caller's transaction (it commits with the act it records)."""
    at = at or datetime.now(UTC)
    details = details or {}
    head = session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:  # the first migration creates it; its absence means no migrated schema
        raise RuntimeError("audit_head row missing: run `casework db upgrade`")
    seq = head.last_seq + 1
    digest = _digest(head.last_hash, _canonical(seq, at, actor, action, flow, step, case_ref,
                                                details))
    event = AuditEvent(seq=seq, at=at, actor=actor, action=action, flow=flow, step=step,
                       case_ref=case_ref, details=details, prev_hash=head.last_hash, hash=digest)
    session.add(event)
    head.last_seq, head.last_hash = seq, digest
    return event


class ChainReport(BaseModel):
    ok: bool
    events: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain in order; report the first event that was edited, removed or reordered."""
    prev_hash, expected_seq, count = GENESIS, 1, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).yield_per(1000)
    for (event,) in rows:
        count += 1
        if event.seq != expected_seq:
            return ChainReport(ok=False, events=count, first_bad_seq=event.seq,
                               problem=f"event {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(ok=False, events=count, first_bad_seq=event.seq,
                               problem="previous-hash link broken (row deleted or reordered)")
        at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
        recomputed = _digest(prev_hash, _canonical(event.seq, at, event.actor, event.action,
                                                   event.flow, event.step, event.case_ref,
                                                   event.details or {}))
        if recomputed != event.hash:
            return ChainReport(ok=False, events=count, first_bad_seq=event.seq,
                               problem="content does not match its hash (row edited)")
        prev_hash, expected_seq = event.hash, expected_seq + 1
    head = session.get(AuditHead, 1)
    if head is not None and head.last_hash != prev_hash:
        return ChainReport(ok=False, events=count, first_bad_seq=expected_seq,
                           problem="the newest events were removed")
    return ChainReport(ok=True, events=count)
