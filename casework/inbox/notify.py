"""Telling caseworkers and teams that sign-off tasks arrived or went overdue: one digest per
subscription (e-mail and/or webhook), in the reader's language, at most once per its
``every_minutes``, never about the same task and event twice.

What a digest says about a task is what the reader's inbox shows in the queue without opening
anything: the step's name, the department and the deadline, and a link that opens the task
(``GET /tasks/<id>``: it shows, never decides; a reader who is not logged in logs in first).
No case summary, citizen, case number or robot suggestion goes into a mail or a chat, which
travel outside the inbox's access control. A person is told only about tasks she may see
(the inbox's own visibility rule) that nobody else has claimed; a team about its department's.

``notify_due`` is one pass (``casework inbox notify``); ``maybe_notify`` is what the sign-off
service loop calls every pass: it runs a pass at most every ``CASEWORK_NOTIFY_CHECK_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from casework.db.models import (
    InboxUser,
    NotificationSent,
    NotificationSubscription,
    SignoffTask,
)
from casework.db.session import get_engine, reading, transaction
from casework.inbox.i18n import LANGUAGES, translate
from casework.inbox.identity import ROLES, User, load_user, visible_to
from casework.inbox.notify_send import (
    Message,
    NotifyError,
    SmtpSettings,
    send_email,
    send_webhook,
)
from casework.inbox.present import Present

log = logging.getLogger(__name__)

MAX_LISTED = 25  # tasks named in one digest; the rest are counted and linked to the queue
EVENTS = ("arrived", "overdue")



def text(key: str, lang: str, **values: object) -> str:
    """A digest's text (``digest_*`` in the inbox's one table of da/nb/en texts)."""
    return translate(f"digest_{key}", lang, **values)


@dataclass
class Digest:
    """What one subscription is told now (task ids per event), and the message."""

    subscription_id: int
    events: dict[str, list[SignoffTask]] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.events.values())


@dataclass
class NotifyReport:
    sent: int = 0
    failed: int = 0
    tasks: int = 0
    errors: list[str] = field(default_factory=list)


def reader(session: Session, sub: NotificationSubscription) -> tuple[User | None, str, str]:
    """(whose eyes, language, greeting name): the person, or the team as a member would be."""
    if sub.user_id:
        user = load_user(session, sub.user_id)
        lang = (sub.language or (user.language if user else None) or "da")
        return user, lang, user.display_name if user else ""
    lang = sub.language or "da"
    team = User(id=f"team:{sub.department}", display_name=sub.department or "",
                language=lang, departments=frozenset({sub.department or ""}),
                roles=frozenset(ROLES))
    return team, lang, ""


def collect(session: Session, sub: NotificationSubscription, now: datetime,
            limit: int = MAX_LISTED) -> Digest:
    """The tasks this subscription has not yet been told about, per event."""
    digest = Digest(sub.id)
    user, _lang, _name = reader(session, sub)
    if user is None:  # a removed or deactivated person is told nothing
        return digest
    told = select(NotificationSent.task_id).where(
        NotificationSent.subscription_id == sub.id)
    base = [SignoffTask.status == "awaiting", visible_to(user)]
    if sub.user_id:  # tasks a colleague has taken are hers, not his
        base.append(or_(SignoffTask.claimed_by.is_(None), SignoffTask.claimed_by == sub.user_id))
    created = sub.created_at if sub.created_at.tzinfo else sub.created_at.replace(tzinfo=UTC)
    wanted = {
        # Only tasks that arrived since the subscription began: no flood of the backlog.
        "arrived": [SignoffTask.created_at >= created] if sub.on_arrival else None,
        "overdue": [SignoffTask.deadline.is_not(None), SignoffTask.deadline < now]
        if sub.on_overdue else None,
    }
    for event, conditions in wanted.items():
        if conditions is None:
            continue
        query = select(SignoffTask).where(
            and_(*base, *conditions),
            SignoffTask.id.not_in(told.where(NotificationSent.event == event)))
        tasks = list(session.scalars(query.order_by(SignoffTask.deadline, SignoffTask.id)))
        if event == "arrived" and sub.on_overdue:
            tasks = [t for t in tasks if not _overdue(t, now)]  # said once, as overdue
        digest.events[event] = tasks
        digest.counted[event] = len(tasks)
    return digest


def _overdue(task: SignoffTask, now: datetime) -> bool:
    if task.deadline is None:
        return False
    deadline = task.deadline if task.deadline.tzinfo else task.deadline.replace(tzinfo=UTC)
    return deadline < now


def compose(digest: Digest, lang: str, name: str, team: str | None, base_url: str
            ) -> Message:
    """The digest's text in ``lang``: a greeting, one line and link per task, the footer."""
    fmt = Present(lang if lang in LANGUAGES else "da")
    base = base_url.rstrip("/")
    lines = [text("hello_team", lang, team=fmt.department(team)) if team
             else text("hello_person", lang, name=name), ""]
    parts: list[str] = []
    links: list[tuple[str, str]] = []
    for event in EVENTS:
        tasks = digest.events.get(event) or []
        if not tasks:
            continue
        n = len(tasks)
        parts.append(text("n_overdue", lang, n=n) if event == "overdue"
                     else text("one_arrived", lang) if n == 1 else text("n_arrived", lang, n=n))
        lines.append(text(event, lang))
        for task in tasks[:MAX_LISTED]:
            url = f"{base}/tasks/{task.id}"
            title = fmt.step(task.flow, task.step)
            deadline = fmt.day(_local(task.deadline)) if task.deadline \
                else text("no_deadline", lang)
            lines.append("- " + text("line", lang, step=title,
                                     department=fmt.department(task.department),
                                     deadline=deadline))
            lines.append(f"  {url}")
            links.append((f"{text('open', lang)}: {title}", url))
        if n > MAX_LISTED:
            queue = f"{base}/queue" + ("?due=overdue" if event == "overdue" else "")
            lines.append(text("more", lang, n=n - MAX_LISTED, url=queue))
        lines.append("")
    lines.append(text("footer", lang))
    subject = text("subject", lang, parts=", ".join(parts))
    return Message(subject, "\n".join(lines) + "\n", links, lang)


def _local(when: datetime) -> datetime:
    from zoneinfo import ZoneInfo

    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo("Europe/Copenhagen"))


def notify_due(engine: Engine | None = None, *, base_url: str | None = None,
               smtp: SmtpSettings | None = None, now: datetime | None = None,
               force: bool = False) -> NotifyReport:
    """One pass: every subscription whose ``every_minutes`` has passed (or all, ``force``)
    and that has something new gets its digest; what was sent is remembered."""
    engine = engine or get_engine()
    now = now or datetime.now(UTC)
    smtp = smtp or SmtpSettings()
    if base_url is None:
        from casework.inbox.settings import InboxSettings

        base_url = InboxSettings().public_url
    report = NotifyReport()
    with reading(engine) as s:
        subs = list(s.scalars(select(NotificationSubscription)
                              .order_by(NotificationSubscription.id)))
    for sub in subs:
        last = sub.last_sent_at
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        if not force and last is not None and now - last < timedelta(minutes=sub.every_minutes):
            continue
        try:
            _one(engine, sub, last, now, base_url, smtp, report)
        except NotifyError as exc:
            report.failed += 1
            report.errors.append(str(exc))
            log.warning("notification %d not sent: %s", sub.id, exc)
    return report


def _one(engine: Engine, sub: NotificationSubscription, last: datetime | None, now: datetime,
         base_url: str, smtp: SmtpSettings, report: NotifyReport) -> None:
    with reading(engine) as s:
        digest = collect(s, sub, now)
        _user, lang, name = reader(s, sub)
        if digest.empty:
            return
        message = compose(digest, lang, name, sub.department if not sub.user_id else None,
                          base_url)
    # Claim this digest first (another service process may run the same pass): only the one
    # that moves ``last_sent_at`` from what both read sends it.
    with transaction(engine) as s:
        claimed = s.execute(
            update(NotificationSubscription)
            .where(NotificationSubscription.id == sub.id,
                   NotificationSubscription.last_sent_at.is_(None) if sub.last_sent_at is None
                   else NotificationSubscription.last_sent_at == sub.last_sent_at)
            .values(last_sent_at=now)).rowcount
    if not claimed:
        return
    try:
        if not sub.email and not sub.webhook_url:
            raise NotifyError(f"subscription {sub.id} has neither an e-mail nor a webhook")
        if sub.email:
            send_email(smtp, sub.email, message)
        if sub.webhook_url:
            send_webhook(sub.webhook_url, message)
    except NotifyError:
        with transaction(engine) as s:  # not told: try again on the next pass
            s.execute(update(NotificationSubscription)
                      .where(NotificationSubscription.id == sub.id)
                      .values(last_sent_at=last))
        raise
    with transaction(engine) as s:
        for event, tasks in digest.events.items():
            for task in tasks:
                s.add(NotificationSent(subscription_id=sub.id, task_id=task.id, event=event,
                                       sent_at=now))
    report.sent += 1
    report.tasks += sum(len(t) for t in digest.events.values())
    log.info("notification %d sent: %s", sub.id,
             {event: len(tasks) for event, tasks in digest.events.items()})


_last_pass = {"at": 0.0}
_pass_lock = threading.Lock()


def maybe_notify() -> NotifyReport | None:
    """For the sign-off service loop: a pass at most every ``CASEWORK_NOTIFY_CHECK_SECONDS``
    (default 60); None when it is not time yet."""
    every = float(os.environ.get("CASEWORK_NOTIFY_CHECK_SECONDS", "60"))
    with _pass_lock:
        if time.monotonic() - _last_pass["at"] < every:
            return None
        _last_pass["at"] = time.monotonic()
    return notify_due()


def subscribe(engine: Engine | None, *, user_id: str | None = None,
              department: str | None = None, email: str | None = None,
              webhook_url: str | None = None, language: str | None = None,
              on_arrival: bool = True, on_overdue: bool = True, every_minutes: int = 60,
              now: datetime | None = None) -> int:
    """Create (or replace) a person's or a team's subscription; returns its id."""
    if bool(user_id) == bool(department):
        raise ValueError("give either a user or a department, not both")
    if not email and not webhook_url:
        raise ValueError("give an e-mail address and/or a webhook URL")
    if email and ("@" not in email or any(c in email for c in "\r\n ,;")):
        raise ValueError(f"e-mail address {email!r} is not one address")
    if webhook_url and not webhook_url.startswith(("https://", "http://127.0.0.1",
                                                   "http://localhost")):
        raise ValueError("the webhook URL must use https (http only on this machine)")
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    if every_minutes < 1:
        raise ValueError("every_minutes must be at least 1")
    with transaction(engine or get_engine()) as s:
        if user_id and s.get(InboxUser, user_id) is None:
            raise ValueError(f"no inbox user {user_id!r}")
        old = s.scalars(select(NotificationSubscription).where(
            NotificationSubscription.user_id == user_id if user_id
            else NotificationSubscription.department == department)).first()
        sub = old or NotificationSubscription(user_id=user_id, department=department,
                                              created_at=now or datetime.now(UTC))
        sub.email, sub.webhook_url, sub.language = email, webhook_url, language
        sub.on_arrival, sub.on_overdue, sub.every_minutes = on_arrival, on_overdue, every_minutes
        s.add(sub)
        s.flush()
        return sub.id
