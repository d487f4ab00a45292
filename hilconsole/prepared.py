"""Statements PostgreSQL keeps a plan for.

Django writes a query's parameters into its text (client-side binding), so PostgreSQL plans
every statement afresh. For the few statements on the hottest paths, planning costs PostgreSQL
more than running them: a refused claim's session, user and handover reads took 0.67 ms of
PostgreSQL CPU planned each time, and 0.22 ms prepared. Those statements run through
`prepared_cursor()`: the server binds their parameters, and each pooled connection prepares a
statement the first time it runs it (DATABASES' `prepare_threshold`, 0 unless
DATABASE_PREPARED_STATEMENTS is off). `insert_row()` and `update_row()` write a model's row
that way, skipping the ORM's compiling of the statement, which on a chat turn's writes cost more
Python time than the writes took. Every other query keeps Django's client-side binding.
"""

import functools

from django.db import connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Model
from psycopg import errors, sql


def prepared_cursor():
    """A cursor for one statement (use it in `with`) that is prepared on its connection's first
    run of it. Django's query log and the tests' query counts see it like any other."""
    connection.ensure_connection()
    cursor = ServerBindingCursor(connection.connection)
    return _LoggedCursor(cursor, connection) if connection.queries_logged else connection.make_cursor(cursor)


class _LoggedCursor(CursorDebugWrapper):
    """Django's query log, which reads a statement's text with its values from the cursor: a
    server-binding cursor never composes that text, so it is composed here as Django's
    client-side binding would have sent it."""

    def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
        if use_last_executed_query and not many:
            try:
                sql = self.db.ops.compose_sql(sql, params)
            except errors.DataError:  # a value with no text form: the statement as written
                pass
        return super().debug_sql(sql, params, many=many)


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


def _inserted_fields(model: type[Model]) -> list:
    """The fields an INSERT of a new `model` row writes: as `Model.save()` writes them (the
    database numbers the auto primary key and computes generated columns)."""
    meta = model._meta
    return [field for field in meta.local_concrete_fields if field is not meta.auto_field and not field.generated]


def insert_into(model: type[Model]) -> sql.Composed:
    """`INSERT INTO <table> (<columns>) VALUES (%s, …)`, taking `insert_values()` in order."""
    fields = _inserted_fields(model)
    return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(field.column) for field in fields),
        sql.SQL(", ").join(sql.Placeholder() * len(fields)),
    )


def insert_values(obj: Model) -> list:
    """A new row's values as `Model.save()` would insert them: defaults and `auto_now_add`
    filled in on `obj`, each value prepared by its field. Mark the row saved with `inserted()`."""
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in _inserted_fields(type(obj))]


def inserted(obj: Model, pk) -> Model:
    """`obj` as `Model.save()` leaves a new row: with its primary key, no longer adding."""
    obj.pk = pk
    obj._state.adding, obj._state.db = False, connection.alias
    return obj


def insert_row(obj: Model) -> Model:
    """Insert the new row `obj` as `Model.save()` would, by one statement prepared on the
    connection, and return it saved. Unlike `save()`, it sends no model signals: use it for
    rows nothing listens for."""
    with prepared_cursor() as cursor:
        cursor.execute(_insert_returning_pk(type(obj)), insert_values(obj))
        return inserted(obj, cursor.fetchone()[0])


@functools.cache
def _insert_returning_pk(model: type[Model]) -> str:
    returning = sql.SQL("{} RETURNING {}").format(insert_into(model), sql.Identifier(model._meta.pk.column))
    return returning.as_string()


def update_row(obj: Model, fields: tuple[str, ...]) -> None:
    """Write `fields` of the saved row `obj` as `obj.save(update_fields=fields)` would, by one
    statement prepared on the connection. Like `insert_row()`, it sends no model signals."""
    model_fields = [type(obj)._meta.get_field(name) for name in fields]
    values = [field.get_db_prep_save(field.pre_save(obj, False), connection) for field in model_fields]
    with prepared_cursor() as cursor:
        cursor.execute(_update_by_pk(type(obj), tuple(field.column for field in model_fields)), [*values, obj.pk])


@functools.cache
def _update_by_pk(model: type[Model], columns: tuple[str, ...]) -> str:
    return (
        sql.SQL("UPDATE {} SET {} WHERE {} = %s")
        .format(
            sql.Identifier(model._meta.db_table),
            sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(column)) for column in columns),
            sql.Identifier(model._meta.pk.column),
        )
        .as_string()
    )
