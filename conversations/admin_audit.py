"""Admin base classes every app's admin builds on: read-only rows, and changes made in the admin
recorded in the audit log (`AuditEvent`, this app's), with per-object permission grants."""

import json

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from guardian.admin import GuardedModelAdminMixin
from guardian.shortcuts import get_group_perms, get_user_perms

from conversations.audit import audit_record

# Shown only as "changed": an audit log must not become a copy of the keys it records.
SECRET_FIELDS = {"api_key_encrypted", "identity_secret", "password"}
SECRET_CHANGED = "changed"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the domain's services: admins look, they do not edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Audit of admin changes -------------------------------------------------------------------------


def snapshot(obj: models.Model) -> dict:
    """The object's field values as JSON (foreign keys as ids, many-to-many as sorted ids).
    Fields that stamp themselves (`auto_now`) are left out: they change on every save."""
    values = {}
    for field in [*obj._meta.concrete_fields, *obj._meta.many_to_many]:
        if getattr(field, "auto_now", False) or field.primary_key:
            continue
        if field.many_to_many:
            value = sorted(related.pk for related in field.value_from_object(obj)) if obj.pk else []
        else:
            value = field.value_from_object(obj)
        values[field.attname] = value
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only what differs, secrets as "changed" (their values never reach the log). A creation
    or a deletion is recorded whole, on its one side."""
    if not before or not after:
        hidden = {name: SECRET_CHANGED if name in SECRET_FIELDS and value else value
                  for name, value in (before or after).items()}  # fmt: skip
        return (hidden, {}) if before else ({}, hidden)
    old, new = {}, {}
    for name in sorted(set(before) | set(after)):
        if before.get(name) == after.get(name):
            continue
        if name in SECRET_FIELDS:
            old[name], new[name] = "", SECRET_CHANGED
        else:
            old[name], new[name] = before.get(name), after.get(name)
    return old, new


def audit_admin_change(user, verb: str, obj: models.Model, before: dict, after: dict) -> None:
    """One audit event for an admin's create, change or delete (nothing when nothing changed)."""
    old, new = changes(before, after)
    if verb == "changed" and not new:
        return
    audit_record(actor=user, action=f"{obj._meta.model_name}.{verb}", target=obj, before=old, after=new)


def stored(obj: models.Model) -> dict:
    """The object as the database still has it (a form has already changed `obj` in memory)."""
    fresh = type(obj)._default_manager.filter(pk=obj.pk).first() if obj.pk else None
    return snapshot(fresh) if fresh else {}


class AuditedAdmin(admin.ModelAdmin):
    """Every change made through this admin is an AuditEvent with its actor and the values
    before and after: the object itself (with its many-to-many choices), its inlines, list
    edits and deletes."""

    def save_model(self, request, obj, form, change):
        # The values before are read now: the form has already written the new ones onto obj.
        request._audit_before = stored(obj) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = request.__dict__.pop("_audit_before", {})
        # Both sides as stored, so a value the database normalises (20 → 20.0000) is no change.
        audit_admin_change(request.user, "changed" if change else "created", form.instance, before,
                           stored(form.instance))  # fmt: skip

    def save_formset(self, request, form, formset, change):
        befores = {inline.instance.pk: stored(inline.instance) for inline in formset.initial_forms}
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            audit_admin_change(request.user, "created", obj, {}, stored(obj))
        for obj, _ in formset.changed_objects:
            audit_admin_change(request.user, "changed", obj, befores.get(obj.pk, {}), stored(obj))
        for obj in formset.deleted_objects:
            # Deleted by now: its id is gone from the instance, so it is given back for the record.
            audit_deleted(request.user, obj, befores.get(obj.pk) or snapshot(obj))

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_admin_change(request.user, "deleted", obj, snapshot(obj), {})
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit_admin_change(request.user, "deleted", obj, snapshot(obj), {})
            super().delete_queryset(request, queryset)


def audit_deleted(user, obj: models.Model, before: dict) -> None:
    if obj.pk is None and "id" in before:
        obj.pk = before["id"]
    audit_admin_change(user, "deleted", obj, before, {})


class AuditedGuardedAdmin(GuardedModelAdminMixin, AuditedAdmin):
    """An audited admin whose objects have per-object permissions (django-guardian): granting or
    taking one on the "Object permissions" page is audited too."""

    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        holder = get_user_model().objects.filter(pk=user_id).first()
        return self._audited_grant(request, object_pk, holder, get_user_perms, "user", user_id,
                                   super().obj_perms_manage_user_view)  # fmt: skip

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        holder = Group.objects.filter(pk=group_id).first()
        return self._audited_grant(request, object_pk, holder, get_group_perms, "group", group_id,
                                   super().obj_perms_manage_group_view)  # fmt: skip

    def _audited_grant(self, request, object_pk, holder, perms_of, kind, holder_id, view):
        obj = self.model._default_manager.filter(pk=object_pk).first()
        if request.method != "POST" or obj is None or holder is None:
            return view(request, object_pk, holder_id)
        before = sorted(perms_of(holder, obj))
        response = view(request, object_pk, holder_id)
        after = sorted(perms_of(holder, obj))
        if before != after:
            who = {kind: str(holder)}
            audit_record(actor=request.user, action=f"{obj._meta.model_name}.permissions_changed", target=obj,
                         before={**who, "permissions": before}, after={**who, "permissions": after})  # fmt: skip
        return response
