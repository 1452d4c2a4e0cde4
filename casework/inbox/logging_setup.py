"""Logging for ``casework inbox serve``: uvicorn's own loggers plus the project's.

Without this only uvicorn's loggers print; ``casework.*`` (login failures and their reasons,
unhandled errors, "log out everywhere") would be dropped. One line per record, with time, level
and logger, as key=value pairs a log collector can split. Messages never carry CPR numbers or
names: the inbox logs user ids and reasons only.
"""

from __future__ import annotations

import copy
from typing import Any

FORMAT = "time=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s"


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for uvicorn's ``log_config``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["casework"] = {"format": FORMAT, "datefmt": "%Y-%m-%dT%H:%M:%S%z"}
    config["handlers"]["casework"] = {"class": "logging.StreamHandler", "formatter": "casework",
                                      "stream": "ext://sys.stderr"}
    config["loggers"]["casework"] = {"handlers": ["casework"], "level": level,
                                     "propagate": False}
    return config
