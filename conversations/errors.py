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


class ConversationNotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self):
        super().__init__("No such conversation.")


class NotYourConversation(DomainError):
    """A customer's token used on another customer's conversation."""

    status = 403
    code = "not_yours"

    def __init__(self):
        super().__init__("This conversation belongs to another customer.")
