from django.db import transaction

from conversations.models import Inbox


@transaction.atomic
def inbox_ensure(*, name: str, allowed_origins: list[str], greeting: str) -> tuple[Inbox, bool]:
    """The inbox of that name, created with these settings if it does not exist yet."""
    return Inbox.objects.get_or_create(name=name, defaults={"allowed_origins": allowed_origins, "greeting": greeting})
