"""The database schema: ledger, sign-off tasks, audit log, policy versions.

Changes to these classes need an Alembic migration in ``casework/db/migrations/versions``.
Personal data lives only in ``SignoffTask.payload``; everything else holds pseudonymised
case references, step names and numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class LedgerEntry(Base):
    """One run of one step for one case: what the robot did and what it saved.

    ``baseline_minutes`` is copied from the policy at run time, so editing a policy later never
    rewrites past savings. ``saved_minutes`` is baseline − human time when the robot's work was
    used, and 0 − human time when it was not (failed, manual, rejected).
    """

    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flow: Mapped[str] = mapped_column(String(100))
    flow_run_id: Mapped[str] = mapped_column(String(36), index=True)
    step: Mapped[str] = mapped_column(String(100))
    step_kind: Mapped[str] = mapped_column(String(20))
    case_ref: Mapped[str] = mapped_column(String(40), index=True)
    policy_hash: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(30))
    robot_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    human_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    baseline_minutes: Mapped[float] = mapped_column(Float)
    saved_minutes: Mapped[float] = mapped_column(Float, default=0.0)
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    kle_subject: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Added in migration 0009 (work items): the item this step ran for and which call of the
    # step it was within the item. Unique together with ``step``: a step is credited once per
    # item, whatever runs again.
    work_item_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    item_call: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ux_ledger_item_step", "work_item_id", "step", "item_call", unique=True),
        Index("ix_ledger_started_at", "started_at"),
        Index("ix_ledger_flow_step", "flow", "step"),
        Index("ix_ledger_department_started", "department", "started_at"),
    )


class SignoffTask(Base):
    """A robot's prepared work waiting for a caseworker's approve / amend / reject."""

    __tablename__ = "signoff_tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ledger_entry_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("ledger_entries.id"), unique=True
    )
    flow: Mapped[str] = mapped_column(String(100))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    step: Mapped[str] = mapped_column(String(100))
    case_ref: Mapped[str] = mapped_column(String(40), index=True)
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="awaiting")
    signoff_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    signoff_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Everything the caseworker needs; may hold personal data (never copied to logs).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    decision_value: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Added in migration 0002 (sign-off inbox).
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Added in migration 0003 (deadline escalation): what the policy said to do when overdue,
    # and what was done (reminded | reassigned | manual).
    on_overdue: Mapped[str | None] = mapped_column(String(20), nullable=True)
    escalation: Mapped[str | None] = mapped_column(String(20), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Added in migration 0005 (review requests): "signoff" (a robot's work to sign off) or
    # "review" (a citizen asked for a person to review an automated step;
    # casework/rights/review.py).
    kind: Mapped[str] = mapped_column(String(20), default="signoff", server_default="signoff")

    __table_args__ = (
        Index("ix_signoff_case_kind", "case_ref", "kind"),
        Index("ix_signoff_overdue", "status", "escalated_at", "deadline"),
        Index("ix_signoff_agreement", "flow", "step", "status", "decided_at"),
        Index("ix_signoff_status_department", "status", "department"),
        Index("ix_signoff_queue_deadline", "status", "department", "deadline"),
        Index("ix_signoff_queue_created", "status", "department", "created_at"),
        Index("ix_signoff_decided_by", "decided_by", "decided_at"),
        # Added in migration 0005 (queue speed). On PostgreSQL the counts index holds
        # signoff_roles as an INCLUDE column instead (json has no b-tree operator class).
        Index("ix_signoff_queue_counts", "status", "department", "flow", "signoff_roles",
              "deadline"),
        Index("ix_signoff_open_deadline", "status", "deadline", "created_at", "id"),
        Index("ix_signoff_open_created", "status", "created_at", "id"),
    )


class AuditEvent(Base):
    """Append-only, hash-chained record of every act (robot or human)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    flow: Mapped[str | None] = mapped_column(String(100), nullable=True)
    step: Mapped[str | None] = mapped_column(String(100), nullable=True)
    case_ref: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """Single row with the chain's last hash; locked while appending, so the chain stays linear."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class PolicyVersion(Base):
    """The exact text of every policy a run used, keyed by its SHA-256."""

    __tablename__ = "policy_versions"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str] = mapped_column(String(100), index=True)
    path: Mapped[str] = mapped_column(String(500))
    content: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PolicyActivation(Base):
    """A policy version put into force for its flow: who did it, when, and which scenarios it
    passed. The newest row of a flow is its active version; rows are never updated."""

    __tablename__ = "policy_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow: Mapped[str] = mapped_column(String(100))
    policy_hash: Mapped[str] = mapped_column(ForeignKey("policy_versions.hash"))
    scenarios_hash: Mapped[str] = mapped_column(String(64))
    scenarios_text: Mapped[str] = mapped_column(Text)
    scenarios_passed: Mapped[int] = mapped_column(Integer)
    activated_by: Mapped[str] = mapped_column(String(100))
    activated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_policy_activations_flow", "flow", "id"),)


# --------------------------------------------------------------------------- sign-off inbox
# Tables of the caseworkers' web inbox (``casework/inbox``) and its hand-over to the flows.


class InboxUser(Base):
    """A person who may use the inbox. ``id`` is the identity provider's subject (OIDC ``sub``)."""

    __tablename__ = "inbox_users"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InboxUserDepartment(Base):
    """A user belongs to a department: they see and decide that department's tasks."""

    __tablename__ = "inbox_user_departments"

    user_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("inbox_users.id", ondelete="CASCADE"), primary_key=True
    )
    department: Mapped[str] = mapped_column(String(100), primary_key=True)


class InboxUserRole(Base):
    """A user's role: caseworker, team_lead, manager or automation_admin."""

    __tablename__ = "inbox_user_roles"

    user_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("inbox_users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(30), primary_key=True)


class TaskView(Base):
    """One opening of a task page by a user; heartbeats add active (non-idle) review time."""

    __tablename__ = "task_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    signoff_task_id: Mapped[str] = mapped_column(String(36), ForeignKey("signoff_tasks.id"))
    user_id: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0)

    __table_args__ = (Index("ix_task_views_task", "signoff_task_id"),)


class DecisionOutbox(Base):
    """A caseworker's decision waiting to be delivered to the paused flow run (transactional
    outbox: written in the decision's transaction, delivered by ``casework.signoff.outbox``)."""

    __tablename__ = "decision_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    signoff_task_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("signoff_tasks.id"), unique=True
    )
    flow_run_id: Mapped[str] = mapped_column(String(36))
    run_input: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_decision_outbox_status", "status"),)


class FlowSwitch(Base):
    """An automation admin's stop switch for one flow: while ``stopped``, every step of the flow
    goes to sign-off whatever its policy says. Changes are audit events; this row is the state."""

    __tablename__ = "flow_switches"

    flow: Mapped[str] = mapped_column(String(100), primary_key=True)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AutonomyState(Base):
    """Whether a step with earned autonomy has earned it, and the numbers last measured.
    A change of ``earned`` is an audit event; this row is the current state."""

    __tablename__ = "autonomy_states"

    flow: Mapped[str] = mapped_column(String(100), primary_key=True)
    step: Mapped[str] = mapped_column(String(100), primary_key=True)
    earned: Mapped[bool] = mapped_column(Boolean)
    decisions: Mapped[int] = mapped_column(Integer)
    kept: Mapped[int] = mapped_column(Integer)
    min_agreement: Mapped[float] = mapped_column(Float)
    window: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --------------------------------------------------------------------------- work items
# Added in migration 0009: the case as the unit of work (casework/items/).


class WorkItem(Base):
    """One letter, application or case for one flow. ``key`` comes from the source (a
    Message-ID, a case id plus its documents' digests): adding the same key twice adds nothing.
    ``payload`` may hold personal data; it lives here, never in Prefect, and retention erases it.
    ``state``: new | in_progress | awaiting_signoff | ready | done | failed | manual."""

    __tablename__ = "work_items"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flow: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="new")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    case_ref: Mapped[str | None] = mapped_column(String(40), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(40), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    parked_task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    lease_holder: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_flow_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # The pass of a flow run that last claimed it: one pass takes an item at most once.
    claim_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    payload_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                               nullable=True)

    __table_args__ = (
        Index("ux_work_items_flow_key", "flow", "key", unique=True),
        Index("ix_work_items_claim", "flow", "state", "created_at"),
        Index("ix_work_items_parked_task", "parked_task_id"),
    )


class ItemStep(Base):
    """A step that finished for a work item: its routing and typed result (JSON), handed back
    on every later run of the item instead of running the step again. One row per (item, step,
    call); the ledger row has the same id."""

    __tablename__ = "item_steps"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    work_item_id: Mapped[str] = mapped_column(String(36), ForeignKey("work_items.id"))
    step: Mapped[str] = mapped_column(String(100))
    call: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    signoff_task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ux_item_steps_item_step_call", "work_item_id", "step", "call", unique=True),
    )


# --------------------------------------------------------------------------- party hearing
# Added in migration 0008: a hearing (forvaltningsloven § 19) the runtime inserted before a
# decision, and the wake-ups that resume a flow run waiting for its reply or deadline.


class PartyHearing(Base):
    """One hearing of one case before one decision step: at most one per (case, flow, step),
    so a re-run finds it and never writes a second letter. The letter itself is the sign-off
    task's payload; only its SHA-256 is kept here. ``reply_note`` may hold personal data."""

    __tablename__ = "party_hearings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(40))
    flow: Mapped[str] = mapped_column(String(100))
    decision_step: Mapped[str] = mapped_column(String(100))
    signoff_task_id: Mapped[str] = mapped_column(String(36), ForeignKey("signoff_tasks.id"))
    # awaiting_letter_signoff | sending (approved; letter on its way) | sent | letter_rejected
    status: Mapped[str] = mapped_column(String(30))
    reply_days: Mapped[int] = mapped_column(Integer)
    letter_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reply_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)
    reply_received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                               nullable=True)
    reply_registered_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reply_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    deadline_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                                nullable=True)
    # The flow run paused or suspended until the reply or the deadline; None when none waits.
    waiting_run_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (
        Index("ux_party_hearing_case_step", "case_ref", "flow", "decision_step", unique=True),
        Index("ix_party_hearing_open", "status", "reply_received_at", "reply_deadline"),
    )


class HearingWakeup(Base):
    """A wake-up for the flow run waiting on a hearing (reply registered, or deadline passed);
    delivered like a decision, by ``casework.signoff.outbox``. Holds no personal data."""

    __tablename__ = "hearing_wakeups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hearing_id: Mapped[str] = mapped_column(String(36), ForeignKey("party_hearings.id"))
    flow_run_id: Mapped[str] = mapped_column(String(36))
    run_input: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_hearing_wakeups_status", "status"),)


class InboxSession(Base):
    """A logged-in inbox session (migration 0010). The cookie holds a random token; this row,
    keyed by the token's SHA-256, is the session, so revoking the row ends it at once."""

    __tablename__ = "inbox_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the token
    user_id: Mapped[str] = mapped_column(String(100))
    csrf: Mapped[str] = mapped_column(String(64))
    # Digest of the user's roles and departments at login: a change rotates the session.
    privileges: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # logout | logout_everywhere | deactivated | rotated | login
    revoked_why: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The provider's ID token, for ``id_token_hint`` at logout (OIDC only).
    id_token: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_inbox_sessions_user", "user_id", "revoked_at"),)


class ServiceToken(Base):
    """A script's key to the inbox's JSON API (migration 0011). It acts for one inbox user,
    within that user's departments and roles, narrowed to ``departments``/``roles`` when they
    are set; only the token's SHA-256 is stored, and revoking it ends it at once."""

    __tablename__ = "service_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(
        String(100), ForeignKey("inbox_users.id", ondelete="CASCADE"))
    departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: the user's
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: the user's
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NotificationSubscription(Base):
    """Who is told when sign-off tasks arrive or go overdue: a person (``user_id``: the tasks
    she may see) or a team (``department``: that department's tasks), by e-mail digest and/or
    a webhook (Teams-compatible), at most once per ``every_minutes``."""

    __tablename__ = "notification_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str | None] = mapped_column(
        String(100), ForeignKey("inbox_users.id", ondelete="CASCADE"), nullable=True, index=True)
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    language: Mapped[str | None] = mapped_column(String(5), nullable=True)  # a person's own
    on_arrival: Mapped[bool] = mapped_column(Boolean, default=True)
    on_overdue: Mapped[bool] = mapped_column(Boolean, default=True)
    every_minutes: Mapped[int] = mapped_column(Integer, default=60)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NotificationSent(Base):
    """A task already told to a subscription (``event`` arrived | overdue): never twice."""

    __tablename__ = "notifications_sent"

    subscription_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("notification_subscriptions.id", ondelete="CASCADE"),
        primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event: Mapped[str] = mapped_column(String(10), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
