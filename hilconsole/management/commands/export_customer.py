import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from hilconsole.retention import UnknownCustomer, customer_export_data, customers_matching


class Command(BaseCommand):
    help = "Print everything the console holds about a customer (by id, or email address) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="a customer id, or an email address")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, customer, output=None, **options):
        try:
            customers = customers_matching(customer)
        except UnknownCustomer as error:
            raise CommandError(str(error)) from None
        text = json.dumps([customer_export_data(found) for found in customers], cls=DjangoJSONEncoder, indent=2,
                          ensure_ascii=False)  # fmt: skip
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text)
            self.stdout.write(f"Wrote {len(customers)} customer(s) to {output}.")
        else:
            self.stdout.write(text)
