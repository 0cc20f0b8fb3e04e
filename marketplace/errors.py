"""The one exception type that services raise for a rule a caller broke.

Views turn it into a form error or a message; the API's exception handler (marketplace/api.py)
turns it into `{"error": {"code": ..., "message": ...}}` with its HTTP status.
"""


class ServiceError(Exception):
    """A request that the domain refuses, with a message fit to show the person who asked."""

    status_code = 400

    def __init__(self, message: str, *, code: str = "invalid", status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        if status_code is not None:
            self.status_code = status_code


class Conflict(ServiceError):
    """The request contradicts the current state (for example removing the last owner)."""

    status_code = 409

    def __init__(self, message: str, *, code: str = "conflict", status_code: int | None = None):
        super().__init__(message, code=code, status_code=status_code)
