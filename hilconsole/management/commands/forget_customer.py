from django.core.management.base import BaseCommand, CommandError

from hilconsole.retention import UnknownCustomer, customer_forget, customers_matching


class Command(BaseCommand):
    help = "Forget a customer (by id, or every customer with that email address): their words and identity."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="a customer id, or an email address")

    def handle(self, *args, customer, **options):
        try:
            customers = customers_matching(customer)
        except UnknownCustomer as error:
            raise CommandError(str(error)) from None
        for found in customers:
            erased = customer_forget(found.pk, actor="manage.py forget_customer")
            counts = ", ".join(f"{count} {what.replace('_', ' ')}" for what, count in erased.items())
            self.stdout.write(f"Forgot customer #{found.pk} of {found.inbox}: {counts}.")
