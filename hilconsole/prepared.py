"""Statements PostgreSQL keeps a plan for.

Django writes a query's parameters into its text (client-side binding), so PostgreSQL plans
every statement afresh. For the few statements on the hottest paths, planning costs PostgreSQL
more than running them: a refused claim's session, user and handover reads took 0.67 ms of
PostgreSQL CPU planned each time, and 0.22 ms prepared. Those statements run through
`prepared_cursor()`: the server binds their parameters, and each pooled connection prepares a
statement the first time it runs it (DATABASES' `prepare_threshold`, 0 unless
DATABASE_PREPARED_STATEMENTS is off). Every other query keeps Django's client-side binding.
"""

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import Model
from psycopg import sql


def prepared_cursor():
    """A cursor for one statement (use it in `with`) that is prepared on its connection's first
    run of it. Django's query log and the tests' query counts see it like any other."""
    connection.ensure_connection()
    cursor = ServerBindingCursor(connection.connection)
    return connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)


def columns(model: type[Model], alias: str) -> sql.Composed:
    """The model's own columns, qualified by `alias`, in the order `instance()` reads them."""
    return sql.SQL(", ").join(sql.Identifier(alias, field.column) for field in model._meta.concrete_fields)


def instance(model: type[Model], values) -> Model:
    """The row `columns()` selected, as the ORM would have loaded it."""
    fields = model._meta.concrete_fields
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [field.attname for field in fields], values)
