"""Errors that stop a job with one sentence naming the key, file or task at fault."""


class XstiltsError(Exception):
    """Base class: the message is meant to be shown to the user as it is."""


class ConfigError(XstiltsError, ValueError):
    """The experiment config has an unknown key, a wrong type or an unknown name."""


class DataError(XstiltsError, ValueError):
    """A data file is missing or one of its rows breaks the task's format."""


class CheckpointError(XstiltsError, RuntimeError):
    """A checkpoint is missing, incomplete or does not match the model it is loaded into."""


class OutputLocked(XstiltsError, RuntimeError):
    """Another process holds the lock of an output this job would write."""
