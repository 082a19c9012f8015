"""Typed errors raised by library code. Only the CLI turns them into messages and exit codes.

Every error here is something the user can act on: its message is one line saying what was
wrong and, where possible, what to do. The CLI prints it and exits with ``exit_code`` (2).
Messages speak of the library's parameters (``ratio``, ``features``), never of command-line
flags a Python caller never typed; ``param`` names the parameter an error is about, and the
CLI tells its users which option that is.
"""

from __future__ import annotations


class AutospecError(Exception):
    """Base class: a problem with the user's input, options or environment."""

    exit_code = 2

    def __init__(self, *args: object, param: str | None = None) -> None:
        super().__init__(*args)
        self.param = param


class InputError(AutospecError):
    """A file or dataset that cannot be used as given (missing, empty, malformed, NaN...)."""


class ConfigError(AutospecError):
    """Bad options or configuration values (unknown algorithm, k too large, ...)."""


class OutputExistsError(AutospecError):
    """An output file exists and overwriting it (``force``) was not asked for."""

    def __init__(self, *args: object, param: str | None = "force") -> None:
        super().__init__(*args, param=param)


class SpecError(InputError):
    """A specification file that is malformed or does not match the data."""


class ModelError(InputError):
    """A model that cannot be loaded, converted or checked."""


class VnnlibError(InputError):
    """A VNN-LIB property that cannot be parsed or does not fit the model."""


class VerifierError(AutospecError):
    """A verifier backend that is unknown, unavailable or misconfigured."""


class PluginError(ConfigError, VerifierError):
    """A plug-in (backend, generator, job kind, report builder, data loader) that is unknown,
    declared twice or cannot be loaded (see :mod:`autospec_cli.plugins`).

    It is a :class:`VerifierError` too, so code that caught the verifier registry's errors
    before every kind of plug-in shared one registry keeps catching unknown backends.
    """


class ParameterError(PluginError):
    """A value that does not fit a plug-in's declared parameter (see :mod:`autospec_cli.params`)."""


class StoreError(AutospecError):
    """A campaign results store that is locked, corrupt or from a newer version."""
