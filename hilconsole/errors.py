class DomainError(Exception):
    """A request the domain refuses; the API turns it into `{"error": {"code", "message"}}`.

    Every app's refusals subclass it, so one exception handler and one desk notice cover them all.
    """

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
