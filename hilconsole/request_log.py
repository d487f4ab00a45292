"""What Django's request log leaves out.

Django logs every 4xx answer as a warning. A 409 is the console answering as designed: a
handover a colleague claimed first, a review already decided, a conversation that moved on. The
person is told who or what won, so a warning per loser says nothing an operator can act on, and
a rush of 32 agents on one handover would write 31 of them (a tenth of a refused claim's CPU).
"""

import logging
from http import HTTPStatus


class ExpectedConflicts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "status_code", None) != HTTPStatus.CONFLICT
