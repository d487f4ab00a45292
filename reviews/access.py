"""Telling a person's open desk sockets that their access may have changed.

A desk socket re-reads its user from the database on a timer (DESK_PERMISSION_RECHECK_SECONDS)
and keeps the verdict in between, so that forwarding an event costs no query. A change made in
the admin (a deactivated account, a role or an inbox taken away) must not wait for the timer:
these receivers send the user's sockets an event that makes them re-read at once, and signing
out closes the sockets of that session. The admin changes these rows without any service of
ours, so the model signals are the one place to notice them.
"""

from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from guardian.models import GroupObjectPermission, UserObjectPermission

from hilconsole.broadcast import broadcast_on_commit
from reviews.events import access_changed_event, desk_session_group, desk_user_group, signed_out_event


def access_changed_for(user_ids) -> None:
    for user_id in set(user_ids):
        broadcast_on_commit(desk_user_group(user_id), access_changed_event())


def _signed_out(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        broadcast_on_commit(desk_session_group(session_key), signed_out_event())


def _user_saved(sender, instance, update_fields=None, **kwargs):
    if update_fields and set(update_fields) <= {"last_login", "password"}:
        return  # every sign-in saves last_login; a new password ends the other sessions by itself
    access_changed_for([instance.pk])


def _user_deleted(sender, instance, **kwargs):
    access_changed_for([instance.pk])


def _groups_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # user.groups changed
        access_changed_for([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear()
        access_changed_for(instance.user_set.values_list("pk", flat=True))
    else:
        access_changed_for(pk_set or ())


def _group_deleted(sender, instance, **kwargs):
    access_changed_for(instance.user_set.values_list("pk", flat=True))


def _user_grant_changed(sender, instance, **kwargs):
    access_changed_for([instance.user_id])


def _group_grant_changed(sender, instance, **kwargs):
    # By id: when the group itself is being deleted, its row may already be gone.
    access_changed_for(get_user_model().objects.filter(groups__id=instance.group_id).values_list("pk", flat=True))


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(_signed_out, dispatch_uid="desk_signed_out")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="desk_user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="desk_user_deleted")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="desk_groups_changed")
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="desk_group_deleted")
    for name, signal in (("saved", post_save), ("deleted", post_delete)):
        signal.connect(_user_grant_changed, sender=UserObjectPermission, dispatch_uid=f"desk_user_grant_{name}")
        signal.connect(_group_grant_changed, sender=GroupObjectPermission, dispatch_uid=f"desk_group_grant_{name}")
