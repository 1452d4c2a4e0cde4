"""The step runtime: the one place that runs, times and routes a casework step.

A flow module creates one ``CaseworkFlow`` and decorates its functions::

    robot = CaseworkFlow("journal_placement")

    @robot.step(kind="preparatory")
    def suggest_journal(case: Case, letter: Letter) -> JournalSuggestion: ...

    @robot.flow()
    def journal_placement(letters: list[Letter]) -> None:
        for letter in letters:
            case = Case(id=letter.case_id, department="byg")
            decision = require_signoff(suggest_journal(case, letter))
            if decision.proceed:
                file_document(case, decision.value)

Each step call is a Prefect task that measures the robot's wall time, asks the policy engine
whether this case may go on autonomously, needs a caseworker's sign-off or stays manual, and
writes one ledger row plus an audit event in one transaction before it returns.
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar
from uuid import NAMESPACE_URL, uuid4, uuid5

from prefect import Flow as PrefectFlow
from prefect import flow as prefect_flow
from prefect import task as prefect_task
from prefect.context import FlowRunContext, TaskRunContext
from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from casework import audit, ledger, registry
from casework.case import Case
from casework.db import migrate
from casework.db.models import LedgerEntry, PolicyVersion
from casework.db.session import get_engine, reading, transaction
from casework.items.memo import CurrentItem, StoredStep, current_item, load_finished, store_step
from casework.ledger import Mode, Outcome, StepRecord
from casework.oversight import autonomy
from casework.oversight.stop_switch import stop_reason
from casework.policy.engine import route
from casework.policy.errors import PolicyError
from casework.policy.hearing import GatheredFact
from casework.policy.loader import Policy, check_against_flow, load_policy, policy_path
from casework.prefect_view.run_logging import install_run_logging, mask_exception
from casework.prefect_view.run_view import run_name
from casework.privacy import install_log_masking
from casework.settings import get_settings
from casework.signoff.decisions import mark_consumed, stored_decision
from casework.signoff.tasks import create_signoff_task, to_jsonable

if TYPE_CHECKING:
    from casework.rights.hearing import HearingDraft, HearingOutcome

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class StepOutcome(BaseModel, Generic[T]):
    """What a governed step hands back: the robot's result and how the policy routed it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    flow: str
    step: str
    case_ref: str
    mode: Mode
    result: T | None = None  # None when the step stayed manual (the robot did not run it)
    reasons: list[str] = []
    ledger_id: str
    signoff_task_id: str | None = None


class NotApproved(RuntimeError):
    """Raised when a flow uses the value of work that nobody approved, or calls an act step
    with work that is not approved or allowed."""


class ItemParked(BaseException):  # noqa: N818 - control flow: no `except Exception` eats it
    """Inside a work item: the step's work waits for a caseworker. The item is parked and the
    flow run goes on with its other items; the decision makes the item ready again."""

    def __init__(self, task_id: str, step: str) -> None:
        super().__init__(f"step {step!r} awaits sign-off (task {task_id})")
        self.task_id, self.step = task_id, step


class ItemLeaseLost(BaseException):  # noqa: N818 - control flow, not an error
    """Inside a work item: another worker has taken the item over (this worker's lease ran
    out); nothing more may be done for it here."""


class ItemDeferred(BaseException):  # noqa: N818 - control flow, not an error
    """Inside a work item: an act step may not act now (the flow's stop switch is on and no
    person approved its input). The item is put back and tried again later."""


class Decision(BaseModel, Generic[T]):
    """The answer to "may the flow go on with this result?"."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    status: Outcome
    step: str
    case_ref: str
    signoff_task_id: str | None = None
    reasons: list[str] = []
    value_: T | None = None

    @property
    def proceed(self) -> bool:
        """May the flow go on with ``value``: the robot's work was allowed or approved, or (in
        shadow mode) a person did the step and ``value`` is their answer."""
        return self.status in ledger.WORK_USED or self.status is Outcome.DONE_BY_PERSON

    def or_stop(self) -> Decision[T]:
        """This decision, if the flow may go on with it; otherwise end the work item here
        (rejected, or left to a person). Inside a work item only."""
        if self.proceed:
            return self
        raise ItemStopped(self)

    @property
    def value(self) -> T:
        if not self.proceed:
            raise NotApproved(
                f"step {self.step!r} for case {self.case_ref} is {self.status.value}; "
                "its result may not be used"
            )
        return self.value_  # type: ignore[return-value]


class ItemStopped(BaseException):  # noqa: N818 - control flow, not an error
    """A work item ends early: its work was rejected, or a step is left to a person."""

    def __init__(self, decision: Decision[Any]) -> None:
        super().__init__(f"step {decision.step!r} is {decision.status.value}")
        self.decision = decision


def require_signoff(outcome: StepOutcome[T], *, wait: str | None = None) -> Decision[T]:
    """Let the flow go on only with work the policy or a caseworker allows.

    Autonomous results pass straight through; manual steps were never run by the robot. Work
    that needs sign-off is already stored as a task by the step. If a caseworker has decided,
    that decision is returned (also after a suspended run resumes from the top). Otherwise,
    by ``wait`` (default: setting ``CASEWORK_SIGNOFF_WAIT``): ``record`` returns "awaiting
    sign-off" at once, ``pause`` waits in this process, ``suspend`` ends the process until the
    decision arrives. A wait that times out leaves the task awaiting; nothing is ever approved
    by default.
    """
    common = {"step": outcome.step, "case_ref": outcome.case_ref, "reasons": outcome.reasons,
              "signoff_task_id": outcome.signoff_task_id}
    if outcome.mode is Mode.AUTONOMOUS:
        return Decision(status=Outcome.COMPLETED, value_=outcome.result, **common)
    if outcome.mode is Mode.MANUAL:
        return Decision(status=Outcome.MANUAL, **common)
    task_id = outcome.signoff_task_id
    if task_id is None:  # never approve what was not stored for a caseworker
        return Decision(status=Outcome.AWAITING_SIGNOFF, **common)

    stored = stored_decision(task_id)
    if stored is None and current_item() is not None:
        # A work item never holds its run: it is parked, the run goes on with the others.
        raise ItemParked(task_id, outcome.step)
    if stored is None:
        strategy = wait or get_settings().signoff_wait
        if strategy != "record":
            _wait_for_decision(task_id, strategy)
            stored = stored_decision(task_id)
    if stored is None:
        return Decision(status=Outcome.AWAITING_SIGNOFF, **common)
    mark_consumed(task_id)
    status = Outcome(stored.decision)
    if outcome.mode is Mode.SHADOW and status in (Outcome.APPROVED, Outcome.AMENDED):
        # The person's own answer; "approved" only means it matched the robot's.
        value = (outcome.result if status is Outcome.APPROVED
                 else _amended(outcome.result, stored.value))
        return Decision(status=Outcome.DONE_BY_PERSON, value_=value, **common)
    if status is Outcome.APPROVED:
        value = outcome.result
    elif status is Outcome.AMENDED:
        value = _amended(outcome.result, stored.value)
    else:
        value = None
    if value is not None:
        _record_decided_subject(outcome.ledger_id, _kle_of(_result_facts(value)))
    return Decision(status=status, value_=value, **common)


def _record_decided_subject(ledger_id: str, kle: str | None) -> None:
    """The KLE subject a caseworker approved or chose goes on the step's ledger row, so reports
    break savings down by the subject that was decided, not only by autonomous ones."""
    if kle is None:
        return
    with transaction() as session:
        session.execute(update(LedgerEntry).where(LedgerEntry.id == ledger_id,
                                                  LedgerEntry.kle_subject.is_(None))
                        .values(kle_subject=kle))


def _amended(original: Any, value: dict[str, Any] | None) -> Any:
    """The caseworker's amended result, in the robot's result type."""
    if value is None:
        return original
    if isinstance(original, BaseModel):
        return type(original).model_validate({**original.model_dump(), **value})
    return value


def _wait_for_decision(task_id: str, strategy: str) -> None:
    """Block (pause) or stop (suspend) this flow run until the inbox's decision arrives; a
    resume from anywhere else is audited and the run waits again (casework.signoff.wait)."""
    from casework.signoff.wait import wait_for_decision

    wait_for_decision(task_id, strategy)


class PolicyNotActivated(RuntimeError):
    """The flow's policy file is not the version activated (tested) for production."""


def _require_activated(policy: Policy, flow: str) -> None:
    from casework.policy.activation import active_policy_hash

    active = active_policy_hash(get_engine(), flow)
    if active != policy.hash:
        raise PolicyNotActivated(
            f"policy {policy.path} (sha256 {policy.hash[:12]}) is not the activated version of "
            f"flow {flow!r} ({'sha256 ' + active[:12] if active else 'none activated'}); "
            f"run: casework policy activate {policy.path} --by <your name>")


def _result_facts(result: Any) -> dict[str, Any]:
    if isinstance(result, BaseModel):
        return {name: getattr(result, name) for name in type(result).model_fields}
    if isinstance(result, dict):
        return dict(result)
    return {}


_KLE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")


def _kle_of(result_facts: dict[str, Any]) -> str | None:
    """A used result that names a KLE subject tells the ledger the case's subject."""
    value = result_facts.get("kle")
    return value if isinstance(value, str) and _KLE.match(value) else None


def _now() -> datetime:
    return datetime.now(UTC)


class CaseworkFlow:
    """One automated flow: its policy file, its governed steps and its Prefect flow."""

    def __init__(self, name: str, *, policy_file: Path | str | None = None) -> None:
        self.name = name
        self._policy_file = Path(policy_file) if policy_file else None
        self._lock = threading.Lock()
        self._cached: tuple[tuple[int, int], Policy] | None = None
        self._pinned: dict[str, Policy] = {}  # flow run id -> policy in force for that run
        # flow run id -> {task run id: step run id}, and calls per (step, case) in that run
        self._step_ids: dict[str, dict[str, str]] = {}
        self._calls: dict[str, Counter[tuple[str, str]]] = {}
        self._schema_ready = False
        self._module = sys._getframe(1).f_globals.get("__name__")
        registry.register_flow(name, self._module)

    def __reduce__(self) -> tuple[Any, tuple[str, str | None]]:
        """Pickled by reference (module and name): ``flow.serve()`` hands the flow to its run
        process with cloudpickle, and the robot's locks and caches belong to that process."""
        return _robot_in_module, (self.name, self._module)

    # -- policy ---------------------------------------------------------------------------
    @property
    def policy_file(self) -> Path:
        return self._policy_file or policy_path(get_settings().policy_dir, self.name)

    def policy(self) -> Policy:
        """The current policy, re-read only when the file changed."""
        path = self.policy_file
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = (-1, -1)
        with self._lock:
            if self._cached and self._cached[0] == stamp:
                return self._cached[1]
            policy = load_policy(path)
            problems = check_against_flow(policy, registry.flow_steps().get(self.name, {}),
                                          True, acts=registry.act_steps(self.name))
            if problems:
                raise PolicyError(problems)
            self._cached = (stamp, policy)
            return policy

    def _policy_for_run(self, flow_run_id: str) -> Policy:
        return self._pinned.get(flow_run_id) or self.policy()

    def _start_run(self, flow_run_id: str) -> Policy:
        install_log_masking()
        install_run_logging()
        if not self._schema_ready and get_settings().auto_migrate:
            migrate.ensure_schema(get_engine())
            self._schema_ready = True
        policy = self.policy()
        if get_settings().require_activated_policy:
            _require_activated(policy, self.name)
        with transaction() as session:
            if session.get(PolicyVersion, policy.hash) is None:
                session.add(PolicyVersion(hash=policy.hash, flow=self.name,
                                          path=str(policy.path), content=policy.text,
                                          first_seen_at=_now()))
                audit.append(session, actor=f"robot:{self.name}", action="policy.first_used",
                             flow=self.name, details={"policy_hash": policy.hash})
        self._pinned[flow_run_id] = policy
        return policy

    # -- decorators -----------------------------------------------------------------------
    def step(
        self, name: str | None = None, *, kind: str = "preparatory", **task_options: Any
    ) -> Callable[[Callable[..., T]], Callable[..., StepOutcome[T]]]:
        """Make ``fn(case, ...)`` a governed step that *prepares*: it reads and suggests, and
        the policy decides whether its result is used as it is or waits for a caseworker.
        It must not change outside systems (that is an ``act`` step's job)."""
        return self._decorator(name, kind, task_options, effect=False)

    def act(
        self, name: str | None = None, *, kind: str = "preparatory", **task_options: Any
    ) -> Callable[[Callable[..., T]], Callable[..., StepOutcome[T]]]:
        """Make ``fn(case, decision, ...)`` a governed step that *acts* on outside systems
        (files, journalises, sends) with work that is approved or allowed.

        It takes at least one ``Decision`` and refuses to run unless every one it is given may
        proceed (autonomous by policy, or approved/amended by a caseworker): nothing touches an
        outside system before that. Its policy mode is ``autonomous`` or ``manual``; sign-off
        belongs to the step that prepared its input.
        """
        return self._decorator(name, kind, task_options, effect=True)

    def _decorator(self, name: str | None, kind: str, task_options: dict[str, Any], *,
                   effect: bool) -> Callable[[Callable[..., T]], Callable[..., StepOutcome[T]]]:
        def decorate(fn: Callable[..., T]) -> Callable[..., StepOutcome[T]]:
            step_name = name or fn.__name__
            params = list(inspect.signature(fn).parameters)
            if not params:
                raise TypeError(f"step {step_name!r}: first parameter must be the Case")
            if effect and not _takes_decision(fn):
                raise TypeError(f"act step {step_name!r} must take the approved Decision it "
                                "acts on (a parameter annotated Decision[...])")
            registry.register_step(self.name, step_name, kind, effect=effect)
            governed = self._governed(fn, step_name, kind, effect=effect)
            options: dict[str, Any] = {"name": step_name}
            if get_settings().signoff_wait == "suspend":
                # A suspended run restarts from the top; persisted results bring finished
                # steps back from cache instead of running (and recording) them twice.
                options["persist_result"] = True
            options.update(task_options)
            task = prefect_task(**options)(governed)
            return _ItemAwareStep(task, governed)  # type: ignore[return-value]

        return decorate

    def flow(self, **flow_options: Any) -> Callable[[Callable[P, T]], Callable[P, T]]:
        """Make ``fn`` the Prefect flow: pins the policy for the run, names the run by robot and
        items, forwards the project's (masked) logs to Prefect, publishes the run's savings and
        ends a run whose items failed or wait for a person in a named state."""

        def decorate(fn: Callable[P, T]) -> Callable[P, T]:
            @functools.wraps(fn)
            def run(*args: P.args, **kwargs: P.kwargs) -> T:
                from casework.prefect_view.artifacts import publish_run_savings
                from casework.prefect_view.run_view import end_state, rename_for_items

                flow_run_id = _current_flow_run_id()
                self._start_run(flow_run_id)
                returned: Any = None
                try:
                    returned = fn(*args, **kwargs)
                except Exception as exc:
                    mask_exception(exc)  # Prefect stores its text as the run's state message
                    raise
                finally:
                    self._pinned.pop(flow_run_id, None)
                    with self._lock:
                        self._step_ids.pop(flow_run_id, None)
                        self._calls.pop(flow_run_id, None)
                    publish_run_savings(self.name, flow_run_id, returned)
                rename_for_items(self.name, flow_run_id, returned)
                if flow_run_id == "no-flow-run":
                    return returned  # type: ignore[no-any-return]
                return end_state(returned)  # type: ignore[no-any-return]

            _adopt_signature(run, fn)
            options = {"name": self.name.replace("_", "-"),
                       "flow_run_name": functools.partial(run_name, self.name), **flow_options}
            governed = prefect_flow(**options)(run)
            governed.__class__ = _CheckedFlow  # one clear line when Prefect cannot start
            return governed

        return decorate

    # -- work items -------------------------------------------------------------------------
    def add_items(self, items: Iterable[Any]) -> Any:
        """Add work items (``casework.items.queue.NewItem``) to this flow's queue; the same key
        twice adds nothing. Returns ``Added`` (the item ids, which are new)."""
        from casework.items import queue

        return queue.add(self.name, items)

    def process(self, handler: Callable[..., Any], *, item_ids: list[str] | None = None,
                limit: int | None = None, max_concurrency: int | None = None) -> Any:
        """Run ``handler(payload)`` for each claimable work item of this flow, several at once.

        Call it inside the flow. A step that finished for an item is never run again for it
        (its stored result is handed back); work that waits for sign-off parks its item and the
        others go on; ``Decision.or_stop()`` ends an item early; an exception fails the item
        (retried later, then handed to a person). Returns ``ItemsReport``.
        """
        from casework.items.processing import process_items

        return process_items(self, handler, flow_run_id=_current_flow_run_id(),
                             item_ids=item_ids, limit=limit, max_concurrency=max_concurrency)

    def default_department(self) -> str | None:
        try:
            return self.policy().model.department
        except Exception:  # noqa: BLE001 - a department is a courtesy here, never required
            return None

    # -- party hearing ------------------------------------------------------------------------
    def party_hearing(
        self, case: Case, *, decision_step: str, facts: Iterable[GatheredFact],
        draft: Callable[[HearingDraft], str], send: Callable[[str], None] | None = None,
        wait: str | None = None, now: datetime | None = None,
    ) -> HearingOutcome:
        """Hear the party before ``decision_step`` when its policy and ``facts`` require it.

        Call it before the decision; go on to the decision only if ``outcome.proceed``. When
        adverse, material facts from other sources were gathered (and the step is not exempt
        with a coded ``hearing_exception``), the runtime inserts the step ``party_hearing``:
        ``draft`` writes the letter, a caseworker signs it off, ``send`` (if given) dispatches
        the approved text, and the decision waits for the reply or the deadline. ``wait`` as in
        ``require_signoff``: ``record`` answers at once (a later run goes on), ``pause`` and
        ``suspend`` wait. ``now`` is the clock (tests).
        """
        from casework.rights.hearing import run_party_hearing

        return run_party_hearing(self, case, decision_step=decision_step, facts=facts,
                                 draft=draft, send=send, wait=wait, now=now)

    # -- the governed step ------------------------------------------------------------------
    def _governed(self, fn: Callable[..., T], step_name: str, kind: str, *,
                  effect: bool = False) -> Callable[..., Any]:
        result_type = _result_adapter(fn)

        @functools.wraps(fn)
        def run_step(case: Case, *args: Any, **kwargs: Any) -> StepOutcome[T]:
            if not isinstance(case, Case):
                raise TypeError(f"step {step_name!r}: first argument must be a Case, "
                                f"got {type(case).__name__}")
            if effect:
                _check_approved(self.name, step_name, args, kwargs)
            item = current_item()
            if effect and item is not None and item.lost.is_set():
                raise ItemLeaseLost(f"work item {item.id} was taken over by another worker")
            call: int | None = None
            if item is not None:
                item.case_ref = case.ref
                flow_run_id = item.flow_run_id
                step_run_id, call = item.next_call(step_name)
                stored = item.finished.get(step_run_id)
                if stored is not None:  # finished in an earlier run of this item
                    return self._replay(stored, case, result_type)
            else:
                flow_run_id, task_run_id = _current_run_ids()
                step_run_id = self._step_run_id(flow_run_id, task_run_id, step_name, case.ref)
            policy = self._policy_for_run(flow_run_id)
            step_policy = policy.step(step_name)
            started = _now()
            base = {
                "id": step_run_id, "flow": self.name, "flow_run_id": flow_run_id,
                "step": step_name, "step_kind": step_policy.kind, "case_ref": case.ref,
                "policy_hash": policy.hash, "baseline_minutes": step_policy.manual_minutes,
                "department": case.department or policy.model.department,
                "kle_subject": case.kle, "started_at": started,
                "work_item_id": item.id if item else None, "item_call": call,
            }
            if step_policy.mode == "manual":
                record = StepRecord(**base, mode=Mode.MANUAL, outcome=Outcome.MANUAL,
                                    robot_seconds=0.0, reasons=["policy mode is manual"],
                                    finished_at=started)
                self._commit(record, item, call, None, None)
                return StepOutcome(flow=self.name, step=step_name, case_ref=case.ref,
                                   mode=Mode.MANUAL, reasons=["policy mode is manual"],
                                   ledger_id=step_run_id)
            if effect:
                held = stop_reason(self.name)
                if held and not _approved_by_person(args, kwargs):
                    raise (ItemDeferred if item is not None else NotApproved)(
                        f"act step {step_name!r} of flow {self.name!r} is held: {held}")

            t0 = time.perf_counter()
            try:
                result = fn(case, *args, **kwargs)
            except Exception as exc:
                self._write(StepRecord(**base, mode=Mode(step_policy.mode),
                                       outcome=Outcome.FAILED,
                                       robot_seconds=time.perf_counter() - t0,
                                       error=type(exc).__name__, finished_at=_now()))
                if item is None:  # a task run's state message in Prefect; an item keeps it
                    mask_exception(exc)  # in our database (its last error) and stays whole
                raise
            robot_seconds = time.perf_counter() - t0

            result_facts = _result_facts(result)
            agreement = None
            if effect:
                # The approval was given to its input; the act itself is not routed again.
                mode, reasons, earned = Mode.AUTONOMOUS, ["acts on approved or allowed work"], None
            else:
                if step_policy.earns_autonomy and step_policy.autonomy is not None:
                    with reading() as session:
                        agreement = autonomy.agreement_stats(session, self.name, step_name,
                                                             step_policy.autonomy.window)
                decided = route(policy, step_name,
                                {"case": case.facts(), "result": result_facts,
                                 "confidence": result_facts.get("confidence")},
                                force_signoff=stop_reason(self.name), agreement=agreement,
                                audit_draw=random.random())
                mode, reasons, earned = Mode(decided.mode), decided.reasons, decided.earned
            if mode is Mode.AUTONOMOUS and not base["kle_subject"]:
                base["kle_subject"] = _kle_of(result_facts)
            record = StepRecord(
                **base, mode=mode,
                outcome=Outcome.COMPLETED if mode is Mode.AUTONOMOUS else (
                    Outcome.AWAITING_SIGNOFF if mode in (Mode.SIGNOFF, Mode.SHADOW)
                    else Outcome.MANUAL),
                robot_seconds=robot_seconds, reasons=reasons, finished_at=_now(),
            )
            task_id = None
            try:
                with transaction() as session:
                    earlier = ledger.finished_row(session, step_run_id)
                    if earlier is not None and item is None:
                        # This flow run is running again (after a crash): the step finished in
                        # the earlier attempt. Its row, routing and sign-off task stand;
                        # nothing is counted twice.
                        mode = Mode(earlier.mode)
                        task_id = step_run_id if mode in (Mode.SIGNOFF, Mode.SHADOW) else None
                        self._audit_repeat(session, record)
                        return StepOutcome(flow=self.name, step=step_name, case_ref=case.ref,
                                           mode=mode,
                                           result=result if mode is not Mode.MANUAL else None,
                                           reasons=list(earlier.reasons or []),
                                           ledger_id=step_run_id, signoff_task_id=task_id)
                    if earlier is not None:
                        raise IntegrityError("step already recorded for this item", None,
                                             Exception("duplicate"))
                    ledger.record_step(session, record)
                    if earned is not None and agreement is not None:
                        assert step_policy.autonomy is not None
                        autonomy.record_state(session, flow=self.name, step=step_name,
                                              earned=earned, stats=agreement,
                                              autonomy=step_policy.autonomy)
                    if mode in (Mode.SIGNOFF, Mode.SHADOW):
                        # Shadow: the person does the step in the inbox without seeing the
                        # robot's answer; the task keeps it to compare.
                        task = create_signoff_task(
                            session, ledger_entry_id=step_run_id, flow=self.name,
                            flow_run_id=flow_run_id, step=step_name, case_ref=case.ref,
                            department=record.department,
                            roles=list(step_policy.signoff_by.roles),
                            departments=list(step_policy.signoff_by.departments),
                            suggestion=result, reasons=reasons,
                            case_summary=case.summary, deadline_hours=step_policy.deadline_hours,
                            policy_hash=policy.hash, four_eyes=step_policy.four_eyes,
                            on_overdue=step_policy.on_overdue,
                            kind="shadow" if mode is Mode.SHADOW else "signoff",
                        )
                        task_id = task.id
                        if item is not None:
                            task.payload = {**(task.payload or {}), "work_item_id": item.id}
                        if case.evidence is not None:  # what the robot read, for the person
                            task.payload = {**(task.payload or {}),
                                            "evidence": case.evidence.model_dump(mode="json")}
                    if item is not None and call is not None:
                        store_step(session, item, run_id=step_run_id, step=step_name, call=call,
                                   mode=mode.value, reasons=list(reasons),
                                   result=_jsonable(result_type, result), signoff_task_id=task_id)
                    self._audit_step(session, record)
            except IntegrityError:
                if item is None:
                    raise
                # Another worker finished this step of the item first (its lease ran out while
                # this one worked): its row stands, and its result is the one handed on.
                again = load_finished(item.id).get(step_run_id)
                if again is None:
                    raise
                item.finished[step_run_id] = again
                self._audit_repeat_item(record)
                return self._replay(again, case, result_type)
            return StepOutcome(flow=self.name, step=step_name, case_ref=case.ref, mode=mode,
                               result=result if mode is not Mode.MANUAL else None,
                               reasons=reasons, ledger_id=step_run_id,
                               signoff_task_id=task_id)

        _adopt_signature(run_step, fn)
        return run_step

    def _replay(self, stored: StoredStep, case: Case, result_type: TypeAdapter[Any] | None,
                ) -> StepOutcome[Any]:
        """A step that finished in an earlier run of the item: its stored routing and result."""
        result = stored.result
        if result is not None and result_type is not None:
            result = result_type.validate_python(result)
        return StepOutcome(flow=self.name, step=stored.step, case_ref=case.ref,
                           mode=Mode(stored.mode), result=result, reasons=stored.reasons,
                           ledger_id=stored.id, signoff_task_id=stored.signoff_task_id)

    def _commit(self, record: StepRecord, item: CurrentItem | None, call: int | None,
                result: Any, task_id: str | None) -> None:
        """Write a step's row (and, inside an item, that the step finished)."""
        if item is None or call is None:
            self._write(record)
            return
        try:
            with transaction() as session:
                ledger.record_step(session, record)
                store_step(session, item, run_id=record.id, step=record.step, call=call,
                           mode=record.mode.value, reasons=list(record.reasons), result=result,
                           signoff_task_id=task_id)
                self._audit_step(session, record)
        except IntegrityError:
            again = load_finished(item.id).get(record.id)
            if again is None:
                raise
            item.finished[record.id] = again

    def _audit_repeat_item(self, record: StepRecord) -> None:
        with transaction() as session:
            self._audit_repeat(session, record)

    def _step_run_id(self, flow_run_id: str, task_run_id: str, step: str, case_ref: str
                     ) -> str:
        """The ledger id of this step call: the same in every attempt of one flow run.

        The n-th call of ``step`` for ``case_ref`` in flow run R is always the same step run,
        so a run re-started after a crash (``prefect flow-run retry``, or the resume of a
        suspended run) finds the rows its earlier attempt wrote instead of adding new ones.
        A Prefect retry of one task run keeps its id. Outside a flow run: the task run id.
        """
        if flow_run_id == "no-flow-run":
            return task_run_id
        with self._lock:
            ids = self._step_ids.setdefault(flow_run_id, {})
            if task_run_id not in ids:
                calls = self._calls.setdefault(flow_run_id, Counter())
                n = calls[(step, case_ref)]
                calls[(step, case_ref)] = n + 1
                ids[task_run_id] = str(uuid5(NAMESPACE_URL, f"casework:{self.name}:"
                                                            f"{flow_run_id}:{step}:{case_ref}:{n}"))
            return ids[task_run_id]

    def _write(self, record: StepRecord) -> None:
        with transaction() as session:
            if ledger.finished_row(session, record.id) is not None:
                self._audit_repeat(session, record)  # the earlier attempt's row stands
                return
            ledger.record_step(session, record)
            self._audit_step(session, record)

    def _audit_repeat(self, session: Any, record: StepRecord) -> None:
        audit.append(
            session, actor=f"robot:{self.name}", action="step.repeated", flow=self.name,
            step=record.step, case_ref=record.case_ref,
            details={"flow_run_id": record.flow_run_id, "ledger_id": record.id,
                     "outcome_now": record.outcome.value, "error": record.error},
        )

    def _audit_step(self, session: Any, record: StepRecord) -> None:
        task = record.id if record.mode in (Mode.SIGNOFF, Mode.SHADOW) else None
        log.info("step %s case %s: mode %s, outcome %s, policy: %s%s%s", record.step,
                 record.case_ref, record.mode.value, record.outcome.value,
                 "; ".join(record.reasons) or "-", f", sign-off task {task}" if task else "",
                 f", error {record.error}" if record.error else "")
        audit.append(
            session, actor=f"robot:{self.name}", action=f"step.{record.outcome.value}",
            flow=self.name, step=record.step, case_ref=record.case_ref,
            details={"mode": record.mode.value, "reasons": record.reasons,
                     "policy_hash": record.policy_hash, "flow_run_id": record.flow_run_id,
                     "ledger_id": record.id, "error": record.error},
        )


class _CheckedFlow(PrefectFlow):  # type: ignore[misc]
    """A robot's Prefect flow that, called directly (``python -c 'journal_placement()'``),
    first checks that Prefect can be set up here: a missing PREFECT_HOME folder or a dead
    PREFECT_API_URL gives one line saying what to do, not a minute's wait and a timeout."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if FlowRunContext.get() is None:
            from casework.ops.prefect_env import ensure_prefect

            ensure_prefect()
        return super().__call__(*args, **kwargs)


def _robot_in_module(name: str, module: str | None) -> CaseworkFlow:
    import importlib

    if module:
        for value in vars(importlib.import_module(module)).values():
            if isinstance(value, CaseworkFlow) and value.name == name:
                return value
    raise LookupError(f"no CaseworkFlow {name!r} in module {module!r}")


class _ItemAwareStep:
    """A governed step: a Prefect task when called in a plain flow; inside a work item a plain
    governed call (the item is the unit Prefect sees; its steps are in our ledger)."""

    def __init__(self, task: Any, governed: Callable[..., Any]) -> None:
        self._task, self._governed = task, governed
        functools.update_wrapper(self, governed)  # type: ignore[arg-type]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if current_item() is not None:
            return self._governed(*args, **kwargs)
        return self._task(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_task", "_governed"):
            raise AttributeError(name)  # unpickling looks these up before __dict__ is set
        return getattr(self._task, name)


def _decisions_in(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Decision[Any]]:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, Decision)]


def _takes_decision(fn: Callable[..., Any]) -> bool:
    signature = inspect.signature(fn, eval_str=True)
    for p in signature.parameters.values():
        annotation = p.annotation
        origin = getattr(annotation, "__pydantic_generic_metadata__", {}).get("origin")
        if annotation is Decision or origin is Decision:
            return True
    return False


def _check_approved(flow: str, step: str, args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> None:
    """An act step runs only on work that may proceed: refuse anything else, loudly."""
    decisions = _decisions_in(args, kwargs)
    if not decisions:
        raise NotApproved(f"act step {step!r} of flow {flow!r} was called without the Decision "
                          "it acts on")
    for decision in decisions:
        if not decision.proceed:
            raise NotApproved(
                f"act step {step!r} of flow {flow!r} refused: the work of step "
                f"{decision.step!r} for case {decision.case_ref} is {decision.status.value}, "
                "not approved or allowed")


def _approved_by_person(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return all(d.status in (Outcome.APPROVED, Outcome.AMENDED, Outcome.DONE_BY_PERSON)
               for d in _decisions_in(args, kwargs))


def _result_adapter(fn: Callable[..., Any]) -> TypeAdapter[Any] | None:
    """How to store a step's result as JSON and read it back, from its return annotation."""
    annotation = inspect.signature(fn, eval_str=True).return_annotation
    if annotation is inspect.Signature.empty:
        return None
    try:
        return TypeAdapter(annotation)
    except Exception:  # noqa: BLE001 - a type pydantic cannot handle is stored as given
        return None


def _jsonable(adapter: TypeAdapter[Any] | None, value: Any) -> Any:
    if value is None:
        return None
    if adapter is not None:
        return adapter.dump_python(value, mode="json")
    return to_jsonable(value)


def _adopt_signature(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> None:
    """Prefect validates parameters from the wrapper's signature; give it the function's, with
    annotations evaluated in the function's own module (flows use ``from __future__``)."""
    signature = inspect.signature(fn, eval_str=True)
    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        name: p.annotation for name, p in signature.parameters.items()
        if p.annotation is not inspect.Parameter.empty
    } | ({"return": signature.return_annotation}
         if signature.return_annotation is not inspect.Signature.empty else {})


def _current_flow_run_id() -> str:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else "no-flow-run"


def _current_run_ids() -> tuple[str, str]:
    """(flow run id, step run id). The step run id is the Prefect task run id, so a retried
    task run keeps one ledger row; outside Prefect each call gets a fresh id."""
    ctx = TaskRunContext.get()
    if ctx is not None:
        return str(ctx.task_run.flow_run_id or _current_flow_run_id()), str(ctx.task_run.id)
    return _current_flow_run_id(), str(uuid4())
