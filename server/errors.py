"""Switchboard's exceptions. Boundaries translate them into HTTP statuses and close codes.

Tree::

    SwitchboardError
    ├── ConfigurationError      bad settings; the CLI prints it and exits 2
    ├── StorageError            the database is unreachable or a migration failed
    ├── Unauthorized            missing or wrong credentials (HTTP 401)
    ├── NotFound                an id that does not exist (HTTP 404)
    ├── Conflict                a state change that is not allowed now (HTTP 409)
    └── InvalidInput            a value that fails validation (HTTP 422, close 4400)
        └── MalformedRequest    a request that cannot be read at all, e.g. a body that is
                                not JSON (HTTP 400)

``server/http/errors.py`` holds the one map from these to HTTP responses.
"""


class SwitchboardError(Exception):
    """Root of every error Switchboard raises on purpose."""


class ConfigurationError(SwitchboardError):
    """The settings cannot work (for example an unreachable database URL)."""


class StorageError(SwitchboardError):
    """The database failed in a way the caller cannot fix."""


class Unauthorized(SwitchboardError):
    """The request carries no credentials, or wrong ones."""


class NotFound(SwitchboardError):
    """The requested object does not exist."""


class Conflict(SwitchboardError):
    """The request conflicts with the object's current state."""


class InvalidInput(SwitchboardError):
    """A value from a client failed validation."""


class MalformedRequest(InvalidInput):
    """The request cannot be read (a body that is not JSON, a malformed path value)."""
