class DomainError(Exception):
    """A request the domain refuses; the API turns it into `{"error": {"code", "message"}}`."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class IllegalTransition(DomainError):
    status = 409
    code = "illegal_state"


class IdentityRefused(DomainError):
    status = 401
    code = "identity_unverified"
