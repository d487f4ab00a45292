from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the domain's services: admins look, they do not edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
