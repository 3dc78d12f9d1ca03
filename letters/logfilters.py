"""A logging filter that keeps recipient tokens out of every log.

Loaded by the logging configuration before the apps, so it imports nothing
from Django.
"""

from __future__ import annotations

import logging
import re

# /r/<token>/ anywhere in a line: a request line, a path, a full URL.
TOKEN_IN_PATH = re.compile(r"/r/[^/\s?#\"']+")
REDACTED = "/r/[redacted]"


def redact_tokens(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites the record's message with every token replaced.

    The message is formatted here once and the arguments dropped, because a
    token can hide in either (runserver passes the request line as an arg).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/r/" in message:
            record.msg = redact_tokens(message)
            record.args = ()
        return True
