from hilconsole.errors import DomainError


class IllegalTransition(DomainError):
    status = 409
    code = "illegal_state"


class IdentityRefused(DomainError):
    status = 401
    code = "identity_unverified"


class AlreadyClaimed(IllegalTransition):
    """Somebody claimed the conversation first; the message names them."""

    code = "already_claimed"

    def __init__(self, owner_name: str, *, by_self: bool = False):
        self.owner_name = owner_name
        super().__init__("You already have this conversation." if by_self else f"Already claimed by {owner_name}.")
