"""Reads of the conversations app that other apps share."""

from guardian.ctypes import get_content_type
from guardian.models import GroupObjectPermission, UserObjectPermission

from conversations.models import Inbox

WORK_INBOX = "conversations.work_inbox"


def inbox_ids_worked_by(user) -> frozenset[int]:
    """The inboxes the user works: every one for a superuser, else those granted to them or one
    of their groups (django-guardian's rows), in one query. Inactive people work none."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if user.is_superuser:
        return frozenset(Inbox.objects.values_list("pk", flat=True))
    return object_ids_granted(user, Inbox, WORK_INBOX)


def object_ids_granted(user, model, permission: str) -> frozenset[int]:
    """Ids of the `model` rows a per-object `permission` is granted on to the user or one of
    their groups (django-guardian's rows), in one query: guardian's get_objects_for_user takes four."""
    grant = {"content_type": get_content_type(model), "permission__codename": permission.split(".")[1]}
    direct = UserObjectPermission.objects.filter(user=user, **grant).values_list("object_pk")
    via_groups = GroupObjectPermission.objects.filter(group__user=user, **grant).values_list("object_pk")
    return frozenset(int(pk) for (pk,) in direct.union(via_groups))
