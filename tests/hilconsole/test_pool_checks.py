"""Pooled connections are checked as they are handed out (hilconsole/postgresql/base.py): one
whose session the server ended is replaced, and a healthy one costs no round trip."""

import select
import time

import psycopg
import pytest
from django.contrib.auth.models import User
from django.db import connection, connections

from hilconsole.postgresql.base import check_pooled_connection

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid_of_a_request() -> int:
    """The server process of the connection a request used: it is back in the pool."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    connection.close()  # as at the end of a request
    return pid


def last_query_of(pid: int) -> str:
    with psycopg.connect(**connection.get_connection_params() | {"autocommit": True}) as observer:
        return observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def test_pooled_connections_the_server_ended_are_replaced_before_a_request_uses_them():
    backend_pid_of_a_request()
    pool = connection.pool
    pooled = [pool.getconn() for _ in range(pool.get_stats()["pool_available"])]
    ended = {conn.info.backend_pid: conn.fileno() for conn in pooled}
    for conn in pooled:
        pool.putconn(conn)
    # As a restart or a failover does: the server ends every session the pool holds.
    with psycopg.connect(**connection.get_connection_params() | {"autocommit": True}) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(ended)])
    farewell_due = set(ended.values())  # until the server's farewell has reached every one
    deadline = time.monotonic() + 5
    while farewell_due and time.monotonic() < deadline:
        farewell_due -= set(select.select(list(farewell_due), [], [], 0.1)[0])

    assert User.objects.count() >= 0  # the next request's first query works
    assert connection.connection.info.backend_pid not in ended


def test_a_healthy_pooled_connection_is_handed_out_without_a_query():
    backend_pid_of_a_request()
    pool = connection.pool
    pooled = [pool.getconn() for _ in range(pool.get_stats()["pool_available"])]
    for conn in pooled:
        conn.execute("SELECT 'last asked'")
        pool.putconn(conn)

    connection.ensure_connection()

    # The server heard nothing since: psycopg_pool's own check sends an empty query.
    assert last_query_of(connection.connection.info.backend_pid) == "SELECT 'last asked'"


def test_a_connection_left_inside_a_transaction_fails_the_check():
    with psycopg.connect(**connection.get_connection_params()) as conn:
        conn.execute("SELECT 'in a transaction'")  # not autocommit: a transaction is open

        with pytest.raises(psycopg.Error):
            check_pooled_connection(conn)


def test_without_the_pool_django_checks_reused_connections():
    database = connections["default"].settings_dict

    assert database["ENGINE"] == "hilconsole.postgresql"
    assert database["CONN_HEALTH_CHECKS"] is ("pool" not in database["OPTIONS"])
