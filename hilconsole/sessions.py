"""Django's database sessions (SESSION_ENGINE), read with one plain statement.

Every desk and admin request reads its session first. The ORM's query for it cost a request
more CPU to compose than PostgreSQL took to answer it (bench/claim_race.py). Everything else,
writing, expiry and clearing, is django.contrib.sessions.backends.db's own.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone
from psycopg import sql

from hilconsole.prepared import prepared_cursor


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        with prepared_cursor() as cursor:
            cursor.execute(_SESSION_DATA, [self.session_key, timezone.now()])
            row = cursor.fetchone()
        if row is None:
            # As Django's: an unknown or expired key is dropped, and a new one made on save.
            self._session_key = None
            return None
        return Session(session_key=self.session_key, session_data=row[0])


_SESSION_DATA = (
    sql.SQL("SELECT {data} FROM {sessions} WHERE {key} = %s AND {expiry} > %s")
    .format(
        data=sql.Identifier(Session._meta.get_field("session_data").column),
        sessions=sql.Identifier(Session._meta.db_table),
        key=sql.Identifier(Session._meta.get_field("session_key").column),
        expiry=sql.Identifier(Session._meta.get_field("expire_date").column),
    )
    .as_string()
)  # composed once: psycopg would walk the parts at every execution
