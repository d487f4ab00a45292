from django.contrib import admin

from conversations.models import Inbox


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    list_display = ["name", "widget_token", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["created_at"]
