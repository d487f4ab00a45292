"""The customer page's data-protection actions: export as JSON, and forget (after a confirmation
page, like Django's own delete). They call hilconsole.retention, which reaches every app."""

import json

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from conversations.admin import CustomerAdmin
from conversations.models import Customer
from hilconsole.retention import customer_export_data, customer_forget


class CustomerPrivacyAdmin(CustomerAdmin):
    actions = ["export_customers", "forget_customers"]

    @admin.action(description="Export the selected customers' data as JSON")
    def export_customers(self, request, queryset):
        data = [customer_export_data(customer) for customer in queryset.select_related("inbox")]
        response = HttpResponse(json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
                                content_type="application/json")  # fmt: skip
        name = f"customer-{queryset.first().pk}" if len(data) == 1 else "customers"
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response

    @admin.action(description="Forget the selected customers (erase their words and identity)")
    def forget_customers(self, request, queryset):
        if not request.user.has_perm("conversations.delete_customer"):
            raise PermissionDenied("Forgetting a customer needs the permission to delete customers.")
        if request.POST.get("confirmed") != "yes":
            context = self.admin_site.each_context(request) | {
                "title": "Forget these customers?",
                "customers": list(queryset),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/conversations/customer/forget_confirmation.html", context)
        for customer in queryset:
            erased = customer_forget(customer.pk, actor=request.user)
            messages.success(request, f"Forgot customer #{customer.pk}: {erased['messages']} messages erased.")
        return None


admin.site.unregister(Customer)
admin.site.register(Customer, CustomerPrivacyAdmin)
