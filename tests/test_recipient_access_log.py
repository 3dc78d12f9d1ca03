"""gunicorn's access log never shows a recipient token."""

from __future__ import annotations

import datetime
import runpy
import types
from pathlib import Path

from django.conf import settings
from gunicorn.config import Config

from letters.access_log import RedactingLogger

TOKEN = "pu8itnmN04d2w4SVK-Sn9FR0xZMZ9AXK"


def test_it_redacts_tokens_from_every_access_log_atom():
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", "%(r)s %(U)s %(f)s %({location}o)s %(s)s")
    logger = RedactingLogger(config)
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/r/{TOKEN}/answer/?lang=en",
        "PATH_INFO": f"/r/{TOKEN}/answer/",
        "QUERY_STRING": "lang=en",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://outreach.agency.example/r/{TOKEN}/",
        "REMOTE_ADDR": "127.0.0.1",
    }
    response = types.SimpleNamespace(
        status="303 See Other", sent=0, headers=[("Location", f"/r/{TOKEN}/?done=answer")]
    )
    atoms = logger.atoms(response, [], environ, datetime.timedelta(seconds=1))
    assert not [key for key, value in atoms.items() if TOKEN in str(value)]
    assert atoms["r"] == "POST /r/[redacted]/answer/?lang=en HTTP/1.1"


def test_it_is_the_logger_gunicorn_loads_from_its_config_file():
    path = Path(settings.BASE_DIR) / "gunicorn.conf.py"
    config = Config()
    config.set("logger_class", runpy.run_path(str(path))["logger_class"])
    assert config.logger_class is RedactingLogger
