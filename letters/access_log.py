"""gunicorn's access log without recipient tokens.

gunicorn writes its access log itself, outside Django's logging, and its
atoms carry the token in the request line, the path, the Referer (our own
pages link to each other) and the Location of our redirects. This logger
class redacts every atom; ``gunicorn.conf.py`` names it, and gunicorn reads
that file from the working directory by default.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from letters.logfilters import redact_tokens


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact_tokens(v) if isinstance(v, str) else v for k, v in atoms.items()}
