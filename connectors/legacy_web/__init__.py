"""Robot for a web-based case system with no API (Playwright + Chromium).

``selectors.py`` holds every selector, ``robot.py`` the robot, ``models.py`` what it reads and
writes, ``errors.py`` which faults are retried, ``evidence.py`` the failure screenshots.
"""

from connectors.legacy_web.errors import (
    CaseNotFoundError,
    LegacyLoginError,
    LegacyPermanentError,
    LegacyTransientError,
    LegacyWebError,
    SessionExpiredError,
    StepValidationError,
)
from connectors.legacy_web.models import (
    CaseStep,
    CaseStepForm,
    CaseSummary,
    LegacyCase,
    StepReceipt,
    StepType,
)
from connectors.legacy_web.robot import LegacyCaseSystemRobot

__all__ = [
    "CaseNotFoundError", "CaseStep", "CaseStepForm", "CaseSummary", "LegacyCase",
    "LegacyCaseSystemRobot", "LegacyLoginError", "LegacyPermanentError", "LegacyTransientError",
    "LegacyWebError", "SessionExpiredError", "StepReceipt", "StepType", "StepValidationError",
]
