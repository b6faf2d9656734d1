"""JSON logs, one object a line, with card numbers masked: for uvicorn's loggers and ours.

uvicorn configures its own loggers ("uvicorn", "uvicorn.access": handlers of their own,
propagate off) before it loads the app, and leaves the root logger without handlers, so a
filter attached to the root logger's handlers never sees what the running service logs.
`configure_logging` runs in the app factory, after uvicorn's setup, in every worker process:
it takes uvicorn's handlers away, lets its loggers propagate, and puts one JSON handler on the
root logger. Every record (uvicorn's access and error logs, ours, the libraries') passes through
that handler, whose formatter masks card numbers (first 6 / last 4) in the finished line, the
message, the exception and any extra field alike.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any
from urllib.parse import unquote_plus

from dropdesk.card import mask_pans

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# Libraries whose INFO lines are noise (httpx logs every request URL, a Rasa token included).
QUIET_LOGGERS = ("httpx", "httpcore", "sqlalchemy.engine", "multipart", "watchfiles")
# Attributes every LogRecord has: anything else was passed as `extra=` and is logged as a field.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "color_message", "taskName"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, exception, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        http = None
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and (
            len(record.args) == 5
        ):
            # The query string arrives percent-encoded: decoded, 6222+0212+… is masked too.
            client, method, path, version, status = record.args
            path = unquote_plus(str(path))
            message = str(record.msg) % (client, method, path, version, status)
            http = {"client": client, "method": method, "path": path, "status": status}
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,
        }
        if http is not None:
            entry["http"] = http
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Masked last, on the whole line: no field can carry a card number past it.
        return mask_pans(json.dumps(entry, ensure_ascii=False, default=str))


class JsonStderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (test runners swap it), line by line."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: str = "INFO") -> None:
    """Route every logger through one masked JSON handler on the root logger (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h, JsonStderrHandler) for h in root.handlers):
        handler = JsonStderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
