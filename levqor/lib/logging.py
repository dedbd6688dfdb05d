"""JSON log lines for production: one object per line, with the request's
correlation id, so a log pipeline can index and join them without parsing."""

import json
import logging
import re
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else was passed with `extra=` and
# is carried into the JSON object.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "correlation_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": getattr(record, "correlation_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# `token=…` / `sesame=…` in a URL: the sign-in link's one-time secret.
_SECRET_IN_URL = re.compile(r"(?i)\b(token|sesame)=[^&\s\"'#]+")


class RedactSecretsFilter(logging.Filter):
    """Blank sign-in tokens out of every line a handler writes, whoever
    logged it: the development server's access lines and third-party
    libraries log request URLs, and a sign-in link's URL holds its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_IN_URL.sub(r"\1=[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
