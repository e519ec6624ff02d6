"""The launcher's exceptions: each message is complete and shown to the user as is (no traceback)."""

from __future__ import annotations


class LauncherError(Exception):
    """A launcher-side failure (bad spec or input, store, record): the task fails with exit code 1."""


class SpecError(LauncherError):
    """The task spec or a per-task value does not fit the contract."""


class StoreError(LauncherError):
    """An artifact store operation failed; ``retryable`` tells whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class NotFound(StoreError):
    """The object or directory is not in the store."""


class RecordError(LauncherError):
    """The execution record could not be written."""
