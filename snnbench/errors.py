"""Errors a user can cause and fix; the CLI prints them without a traceback."""


class SnnbenchError(Exception):
    """Base class: a message written for the user, not for a debugger."""


class UsageError(SnnbenchError):
    """Bad input on the command line (a name, a value, a folder): exit code 2, before any work."""


class UnknownNameError(UsageError, KeyError):
    """An unknown task, family, method or preset name; the message lists the valid ones."""

    def __init__(self, kind: str, name: str, valid: list[str]):
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"unknown {kind} {name!r}; valid {kind}s: {', '.join(valid)}")

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class DataError(SnnbenchError):
    """Data that is missing, corrupted or truncated, with what to do about it."""


class MethodOutputError(SnnbenchError):
    """A method returned something the harness cannot score (wrong type or shape)."""


class ResultFileError(SnnbenchError):
    """A result file that cannot be read or resumed."""


class StaleResultsError(ResultFileError):
    """Recorded results were made with another definition of the method or task (version,
    config, preset or data): they can be replaced or skipped, never resumed."""
