from django.contrib import admin

from reviews.models import CannedResponse, HumanAgent


@admin.register(HumanAgent)
class HumanAgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "skills", "max_concurrent", "status", "last_seen_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "user__first_name", "display_name"]
    list_select_related = ["user"]
    fields = [
        "user",
        "display_name",
        "skills",
        "max_concurrent",
        "status",
        "status_chosen",
        "last_seen_at",
        "offline_since",
    ]
    # Presence belongs to the agent's desk, not to an admin's form.
    readonly_fields = ["status", "status_chosen", "last_seen_at", "offline_since"]
    autocomplete_fields = ["user"]


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "title", "inbox", "updated_at"]
    list_filter = ["inbox"]
    search_fields = ["shortcut", "title", "content"]
