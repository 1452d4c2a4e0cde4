"""Error types shared by the suggestion modules, importable without numpy or scipy.

The CLI catches these to print one clear line; keeping them here keeps ``casework --help`` fast.
"""

from __future__ import annotations


class TaxonomyError(ValueError):
    """A taxonomy file could not be read; the message names the file and line or JSON path."""


class EncoderError(RuntimeError):
    """An encoder could not be built or did not answer as expected."""


class DataError(ValueError):
    """Training or evaluation data is unusable; the message names file, line and column."""


class InputError(ValueError):
    """A line of input could not be used; the message names file and line."""
