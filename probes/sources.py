"""Where a feed's bytes come from: a local file or an http(s) URL.

Fetching is conditional (ETag / If-Modified-Since), has a timeout, and the
size cap is enforced while reading (``probes.feeds`` counts every byte), so
a server that streams forever cannot fill memory or disk.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from probes.feeds import FeedError


class FeedFetchError(FeedError):
    """The server could not be reached or failed: worth retrying later."""


USER_AGENT = "Outreach feed importer (open relay notification campaign)"


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only: never to ftp:// or file://."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        if urlsplit(newurl).scheme not in {"http", "https"}:
            raise FeedError(f"refusing a redirect to {newurl[:200]!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnlyRedirects)


@dataclass
class Source:
    stream: BinaryIO | None
    name: str
    etag: str = ""
    last_modified: str = ""
    # True when the server answered 304: nothing to import.
    not_modified: bool = False

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in {"http", "https"}


def source_open(
    source: str, *, etag: str = "", last_modified: str = "", timeout: float = 30
) -> Source:
    """Open a path or an http(s) URL for reading. Raises FeedError on failure."""
    if is_url(source):
        return _url_open(source, etag=etag, last_modified=last_modified, timeout=timeout)
    if urlsplit(source).scheme not in {"", "file"} and not Path(source).exists():
        raise FeedError(f"unsupported source {source!r}: use a file path or an http(s) URL")
    path = Path(source.removeprefix("file://"))
    try:
        return Source(stream=path.open("rb"), name=str(path))
    except OSError as exc:
        raise FeedError(f"cannot open {path}: {exc.strerror or exc}") from None


def _url_open(url: str, *, etag: str, last_modified: str, timeout: float) -> Source:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    if etag:
        request.add_header("If-None-Match", etag)
    if last_modified:
        request.add_header("If-Modified-Since", last_modified)
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Source(None, url, etag, last_modified, not_modified=True)
        error = FeedFetchError if exc.code >= 500 or exc.code == 429 else FeedError
        raise error(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FeedFetchError(f"cannot fetch {url}: {reason}") from None
    headers = response.headers
    return Source(
        stream=response,
        name=url,
        etag=(headers.get("ETag") or "")[:255],
        last_modified=(headers.get("Last-Modified") or "")[:64],
    )
