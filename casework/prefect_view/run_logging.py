"""What a flow run tells Prefect in its logs: the project's own log lines, masked.

During a run the loggers ``casework``, ``flows`` and ``connectors`` are forwarded to Prefect's
run log (an ``APILogHandler``), so the per-item and per-step lines and the flows' warnings show
in the run's Logs tab, not only on the worker's console. Every record that reaches Prefect —
ours and Prefect's own ("Encountered exception…", with its traceback) — has CPR numbers masked
and case numbers replaced by their pseudonym. ``mask_exception`` does the same to an exception's
text before Prefect turns it into a failed state's message.
"""

from __future__ import annotations

import logging
import threading

from casework.privacy import mask_personal

PROJECT_LOGGERS = ("casework", "flows", "connectors")
_installed = threading.Lock()
_done = False


class PersonalDataFilter(logging.Filter):
    """Mask the message and the formatted traceback of a record (it passes every record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's problem
            return True
        masked = mask_personal(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal(record.exc_text)
        return True


class InRunFilter(logging.Filter):
    """Only records logged inside a flow or task run go to Prefect's API (a CLI command or
    the inbox logs through the same loggers, with no run to attach the line to)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "flow_run_id", None):
            return True
        from prefect.context import FlowRunContext, TaskRunContext

        return FlowRunContext.get() is not None or TaskRunContext.get() is not None


class QuietConsole(logging.Filter):
    """The console keeps showing the project's warnings, not its per-step INFO lines (those
    are for the run's log in Prefect)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(PROJECT_LOGGERS)


def install_run_logging() -> None:
    """Forward the project's loggers to Prefect's run log and mask what Prefect's own handlers
    send (idempotent; called when a flow run starts)."""
    global _done
    with _installed:
        if _done:
            return
        from prefect.logging.handlers import APILogHandler

        masking = PersonalDataFilter()
        quiet = QuietConsole()
        for name in ("prefect", "prefect.flow_runs", "prefect.task_runs", "prefect.extra", ""):
            for handler in logging.getLogger(name).handlers:
                if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
                    handler.addFilter(masking)
                console = (type(handler) is logging.StreamHandler
                           or type(handler).__name__ == "PrefectConsoleHandler")
                if console and not any(isinstance(f, QuietConsole) for f in handler.filters):
                    handler.addFilter(quiet)
        forward = APILogHandler()
        forward.addFilter(InRunFilter())
        forward.addFilter(masking)
        for name in PROJECT_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.INFO)
            logger.addHandler(forward)
        _done = True


def mask_exception(exc: BaseException) -> BaseException:
    """Mask the string arguments of ``exc`` in place (its type stays), so the message Prefect
    stores with a failed run or task holds no CPR or case number. Returns ``exc``."""
    try:
        args = tuple(mask_personal(a) if isinstance(a, str) else a for a in exc.args)
        if args != exc.args:
            exc.args = args
    except Exception:  # noqa: BLE001 - an exception whose args cannot be set stays as it is
        pass
    return exc
