"""What the gateway raises (a module of its own, so budgets can build on it without a cycle)."""


class LLMUnavailable(Exception):
    """No deployment of the profile could answer. The message is safe to log, never to show."""

    def __init__(self, message: str, *, llm_call_id: int | None = None):
        super().__init__(message)
        self.llm_call_id = llm_call_id
