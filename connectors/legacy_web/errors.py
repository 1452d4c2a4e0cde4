"""Errors of the legacy web robot: transient ones are retried, permanent ones are not.

Messages name the case by its pseudonymised reference and the form field by its model name,
never a CPR number or a citizen's name.
"""

from __future__ import annotations

from pathlib import Path


class LegacyWebError(Exception):
    """Base class. ``screenshot`` is set when a failure screenshot was saved."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.screenshot: Path | None = None


class LegacyTransientError(LegacyWebError):
    """Navigation timeout, 5xx page or dropped connection: worth another try."""

    retryable = True


class SessionExpiredError(LegacyTransientError):
    """The system sent us back to its login page; log in again and repeat."""


class LegacyPermanentError(LegacyWebError):
    """A 4xx page or a page that does not look as expected: repeating will not help."""


class LegacyLoginError(LegacyPermanentError):
    """The system refused the username or password."""


class CaseNotFoundError(LegacyPermanentError):
    """The system says the case does not exist (or the robot's user may not see it)."""


class StepValidationError(LegacyPermanentError):
    """The system refused the form; ``field`` is the CaseStepForm field it names."""

    def __init__(self, message: str, *, field: str, system_message: str) -> None:
        super().__init__(message)
        self.field = field
        self.system_message = system_message
