"""One error tree. The CLI prints ``str(error)`` on one line and exits 1; the API answers 4xx with it."""


class CrmlensError(Exception):
    """Base of every error crmlens raises on purpose."""


class ConfigError(CrmlensError):
    """The project file or an option is wrong; the message names the key and the fix."""


class SourceError(CrmlensError):
    """A source cannot be read: missing file, bad encoding, database down or refusing the login."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source


class ValidationError(CrmlensError):
    """Data breaks a rule in a way that stops the load (not a single bad row: those go to quarantine)."""


class MissingExtraError(CrmlensError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed: pip install 'crmlens[{extra}]'")


class NotFittedError(CrmlensError):
    """A model or table that a step needs has not been built yet."""


def require(module: str, extra: str):  # noqa: ANN201 - returns a module
    """Import an optional heavy dependency, or raise an error naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(module, extra) from exc
