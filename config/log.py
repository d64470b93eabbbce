"""The log line format: one line per request problem, a traceback only for server errors."""

from __future__ import annotations

import logging


class TracebacksFor5xx(logging.Formatter):
    """Leaves out the traceback of a request answered 4xx.

    Django logs a 403 from PermissionDenied and a 400 from BadRequest or a
    SuspiciousOperation with the exception attached, so each refusal printed a
    traceback of the client's mistake. The status is on the record
    (django.utils.log.log_response puts it there); without one, or at 500 and
    above, the traceback stays.
    """

    def format(self, record: logging.LogRecord) -> str:
        status = getattr(record, "status_code", None)
        if record.exc_info and isinstance(status, int) and status < 500:
            # A copy: other handlers (an error tracker) still get the exception.
            record = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        return super().format(record)
