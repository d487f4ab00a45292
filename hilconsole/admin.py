"""The people the console's admin manages (accounts and groups), audited like every other
admin change."""

from django.contrib import admin

# Imported for its admins of users and groups, registered on import, which these replace.
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from conversations.admin_audit import SECRET_CHANGED, AuditedAdmin
from conversations.audit import audit_record

User = get_user_model()
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class PersonAdmin(AuditedAdmin, auth_admin.UserAdmin):
    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the form was valid and saved
            person = User.objects.get(pk=id)
            audit_record(actor=request.user, action="user.password_changed", target=person,
                         after={"password": SECRET_CHANGED})  # fmt: skip
        return response


@admin.register(Group)
class GroupAdmin(AuditedAdmin, auth_admin.GroupAdmin):
    pass
