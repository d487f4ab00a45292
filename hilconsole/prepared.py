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


def prepared_cursor():
    """A cursor for one statement (use it in `with`) that is prepared on its connection's first
    run of it. Django's query log and the tests' query counts see it like any other."""
    connection.ensure_connection()
    cursor = ServerBindingCursor(connection.connection)
    return connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
