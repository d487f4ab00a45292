"""Django's PostgreSQL backend, checking a pooled connection without a round trip.

With CONN_HEALTH_CHECKS, Django has psycopg_pool check every connection it hands out by sending
an empty query: a round trip to PostgreSQL before every request's and every task's first
statement (about 0.13 ms of waiting, and 0.11 ms of CPU between the two processes).

A connection the server ended while it sat in the pool (a restart, a failover,
`pg_terminate_backend`, `idle_session_timeout`) has something waiting on its socket: the
server's "terminating connection" error, or the end of the stream. An idle connection the
server said nothing to has nothing waiting. So this backend looks at the socket first, without
waiting, and sends the empty query only when something is there (or the connection is not idle):
an ended session fails it, and the connection is given back to the pool, which discards it, and
another one is taken.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq
from psycopg_pool import ConnectionPool


def check_pooled_connection(conn: psycopg.Connection) -> None:
    """Return quietly if `conn` can be used; raise if it cannot."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("The connection is closed.")
    if conn.info.transaction_status != pq.TransactionStatus.IDLE or _has_something_waiting(conn):
        ConnectionPool.check_connection(conn)


def _has_something_waiting(conn: psycopg.Connection) -> bool:
    # poll(), not select(): a process with many sockets open has descriptors past select's 1024.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        if not self.pool or self.settings_dict["CONN_HEALTH_CHECKS"]:
            return super().get_new_connection(conn_params)
        # Every connection the pool holds may have been ended at once (a restart): each is tried
        # in turn, then a new one, which the pool opens when it has none left.
        for _ in range(self.pool.max_size):
            conn = super().get_new_connection(conn_params)
            try:
                check_pooled_connection(conn)
            except psycopg.Error:
                self.pool.putconn(conn)
            else:
                return conn
        return super().get_new_connection(conn_params)
