"""The evidence beside a suggestion: the documents the robot read, the facts it used, the case
number with a link into the case system, earlier decisions on the case, and the letter's
attachments (served from the work item's raw MIME, only to someone who may see the task).

The robot puts ``evidence`` (``casework.case.Evidence``) into the task payload; nothing here
trusts it beyond that model: a payload that does not validate shows no evidence at all.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework.case import Evidence
from casework.db.models import SignoffTask, WorkItem
from casework.inbox.identity import User, can_see

MAX_EARLIER = 20
#: Content types a browser may show inline (with the attachment CSP); the rest is downloaded.
INLINE_TYPES = frozenset({"application/pdf"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()æøåÆØÅ-]+")


def evidence_of(payload: dict | None) -> Evidence | None:
    """The task's evidence, or None when it has none (or it does not validate)."""
    raw = (payload or {}).get("evidence")
    if not isinstance(raw, dict):
        return None
    try:
        return Evidence.model_validate(raw)
    except ValidationError:
        return None


def case_link(template: str | None, case_number: str | None) -> str | None:
    """The case system's address of the case, from ``CASEWORK_INBOX_CASE_URL_TEMPLATE``
    (``{case_number}`` is replaced, URL-encoded), or None without a template."""
    if not template or not case_number:
        return None
    return template.replace("{case_number}", quote(case_number, safe=""))


@dataclass(frozen=True)
class EarlierDecision:
    task_id: str
    flow: str
    step: str
    decision: str
    decided_by: str | None
    decided_at: object
    reason: str | None


def earlier_decisions(session: Session, user: User, task: SignoffTask) -> list[EarlierDecision]:
    """Decided tasks of the same case that this user may see, newest first."""
    rows = session.scalars(
        select(SignoffTask).where(SignoffTask.case_ref == task.case_ref,
                                  SignoffTask.id != task.id, SignoffTask.status == "decided")
        .order_by(SignoffTask.decided_at.desc()).limit(MAX_EARLIER * 3)).all()
    return [EarlierDecision(task_id=r.id, flow=r.flow, step=r.step, decision=r.decision or "",
                            decided_by=r.decided_by, decided_at=r.decided_at,
                            reason=r.decision_reason)
            for r in rows if can_see(user, r)][:MAX_EARLIER]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes

    @property
    def inline(self) -> bool:
        return self.content_type in INLINE_TYPES


def _letter(session: Session, task: SignoffTask) -> EmailMessage | None:
    item_id = (task.payload or {}).get("work_item_id")
    if not isinstance(item_id, str):
        return None
    item = session.get(WorkItem, item_id)
    raw = (item.payload or {}).get("raw_b64") if item is not None else None
    if not isinstance(raw, str):
        return None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return None
    message = email.message_from_bytes(data, policy=email.policy.default)
    return message if isinstance(message, EmailMessage) else None


def attachments(session: Session, task: SignoffTask) -> list[Attachment]:
    """The attachments of the letter behind the task (intake letters), in the letter's order."""
    message = _letter(session, task)
    if message is None:
        return []
    found = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        name = safe_filename(part.get_filename() or f"bilag-{len(found) + 1}")
        found.append(Attachment(filename=name, content_type=part.get_content_type(),
                                data=payload))
    return found


def safe_filename(name: str) -> str:
    """A file name fit for a Content-Disposition header: no quotes, slashes or controls."""
    cleaned = _SAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return cleaned[:150] or "bilag"


def disposition(attachment: Attachment) -> str:
    kind = "inline" if attachment.inline else "attachment"
    ascii_name = attachment.filename.encode("ascii", "replace").decode().replace("?", "_")
    return (f'{kind}; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(attachment.filename, safe='')}")


#: For an attachment shown in the browser: nothing may run or load, and no framing.
ATTACHMENT_CSP = ("default-src 'none'; object-src 'self'; frame-ancestors 'none'; "
                  "base-uri 'none'; form-action 'none'")
