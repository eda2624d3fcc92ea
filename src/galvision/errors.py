"""Exceptions that carry one-line, human-readable messages naming the culprit."""


class GalvisionError(Exception):
    """Base class for every error galvision raises on purpose."""


class ConfigError(GalvisionError, ValueError):
    """A configuration value is invalid or inconsistent with another one."""


class DataError(GalvisionError, ValueError):
    """A data file or array is malformed: wrong shape, band count, NaN pixels, corrupt file."""


class CheckpointError(GalvisionError, FileNotFoundError):
    """A checkpoint or weight file is missing or does not fit the model."""
