"""Advisory locks that keep two workers from advancing the same subject at once (a
conversation's turn, a workflow's run), on one PostgreSQL connection per process."""

import os
import threading
from contextlib import contextmanager

import psycopg
from django.db import connections

_lock_connection: tuple[int, psycopg.Connection] | None = None
_lock_guard = threading.Lock()


@contextmanager
def advisory_lock(namespace: int, subject_id: int):
    """Yields whether this process holds the lock of (namespace, subject): a conversation's
    turn, a workflow's run.

    A PostgreSQL session advisory lock on a connection of its own: when a worker dies, the
    server drops its session and the lock with it, so the redelivered task can go on at once
    (a lock with an expiry would leave the customer waiting for the expiry). Each process keeps
    one such connection and runs one locked task at a time on it.
    """
    with _lock_guard:
        key = (namespace, subject_id % 2_147_483_647)
        held, connection = _try_lock(key)
        try:
            yield held
        finally:
            if held:
                _unlock(connection, key)


def _try_lock(key: tuple[int, int]) -> tuple[bool, psycopg.Connection]:
    """Call holding `_lock_guard`. A connection the database dropped (a restart, a failover)
    only shows it is dead when used: it is replaced once, so the turn goes on instead of failing."""
    for attempt in (1, 2):
        connection = _connection_for_locks()
        try:
            return connection.execute("SELECT pg_try_advisory_lock(%s, %s)", key).fetchone()[0], connection
        except psycopg.OperationalError:
            _drop_lock_connection()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _unlock(connection: psycopg.Connection, key: tuple[int, int]) -> None:
    try:
        connection.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    except psycopg.OperationalError:
        # The session is gone, and a session's advisory locks go with it.
        _drop_lock_connection()


def _drop_lock_connection() -> None:
    global _lock_connection
    if _lock_connection:
        _lock_connection[1].close()
        _lock_connection = None


def _connection_for_locks() -> psycopg.Connection:
    global _lock_connection
    if _lock_connection and _lock_connection[0] == os.getpid() and not _lock_connection[1].broken:
        return _lock_connection[1]
    db = connections["default"].settings_dict
    connection = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"] or None, host=db["HOST"] or None,
        port=db["PORT"] or None, autocommit=True, application_name="hil-turn-locks",
    )  # fmt: skip
    _lock_connection = (os.getpid(), connection)
    return connection


def locks_close() -> None:
    """Close this process's lock connection (before its database is dropped, in tests)."""
    with _lock_guard:
        _drop_lock_connection()
