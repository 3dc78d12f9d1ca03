"""Print HTML → PDF with WeasyPrint, safely and fast.

* Safety: the URL fetcher reads ``data:`` URIs only (the logo is inlined by
  render.py, the stylesheet is compiled from this package); anything else,
  ``file://`` or the network, stops the render with FatalURLFetchingError.
  Input size is bounded and, in a main thread (workers, commands), so is the
  render time.
* Speed: one FontConfiguration and one compiled CSS per process, one
  document per letter; libharfbuzz-subset0 makes font subsetting native.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

CSS_PATH = Path(__file__).parent / "static" / "letters" / "print.css"
MAX_HTML_CHARS = 2_000_000
MAX_DATA_URI_CHARS = 512 * 1024


class PdfTimeout(Exception):
    """Rendering took longer than LETTERS_PDF_TIMEOUT seconds."""


class _Expired(BaseException):
    # Raised from the alarm handler. A BaseException, like WeasyPrint's own
    # FatalURLFetchingError, because WeasyPrint catches Exception in places
    # (resources, fonts) and a deadline that lands there must still stop it.
    # _deadline turns it into PdfTimeout before it reaches any caller.
    pass


class StrictURLFetcher(URLFetcher):
    """Fetch ``data:`` URIs only; refuse everything else, fatally."""

    def __init__(self) -> None:
        super().__init__(timeout=5, allowed_protocols=["data"], allow_redirects=False)

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:") and len(url) <= MAX_DATA_URI_CHARS:
            return super().fetch(url, headers)
        raise FatalURLFetchingError(f"Letters may not load {url[:80]!r}")


@dataclass(frozen=True)
class PdfKit:
    """What one process shares across documents."""

    font_config: FontConfiguration
    css: CSS
    fetcher: StrictURLFetcher


def pdf_kit_new() -> PdfKit:
    font_config = FontConfiguration()
    fetcher = StrictURLFetcher()
    css = CSS(string=CSS_PATH.read_text(), font_config=font_config, url_fetcher=fetcher)
    return PdfKit(font_config=font_config, css=css, fetcher=fetcher)


@cache
def pdf_kit() -> PdfKit:
    return pdf_kit_new()


def html_to_pdf(print_html: str, *, kit: PdfKit | None = None) -> bytes:
    """One print HTML document → PDF bytes."""
    kit = kit or pdf_kit()
    with _deadline(settings.LETTERS_PDF_TIMEOUT):
        return _render(print_html, kit).write_pdf()


def merged_pdf(print_htmls: list[str], *, kit: PdfKit | None = None) -> tuple[bytes, list[int]]:
    """One PDF of all documents, and how many pages each document took."""
    if not print_htmls:
        raise ValueError("No document to render")
    kit = kit or pdf_kit()
    with _deadline(settings.LETTERS_PDF_TIMEOUT * len(print_htmls)):
        documents = [_render(html, kit) for html in print_htmls]
        pages = [page for document in documents for page in document.pages]
        pdf = documents[0].copy(pages).write_pdf()
    return pdf, [len(document.pages) for document in documents]


def _render(print_html: str, kit: PdfKit) -> Any:
    if len(print_html) > MAX_HTML_CHARS:
        raise ValueError(f"Print HTML is over {MAX_HTML_CHARS} characters")
    html = HTML(string=print_html, url_fetcher=kit.fetcher, base_url=None)
    return html.render(font_config=kit.font_config, stylesheets=[kit.css])


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    # SIGALRM interrupts the render between two Python steps (layout is
    # Python). Signals exist in the main thread only, so threaded servers rely
    # on the input bounds; workers and commands run renders in the main thread.
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    armed = {"on": True}

    def expire(signum: int, frame: Any) -> None:
        if armed["on"]:
            raise _Expired

    previous = signal.signal(signal.SIGALRM, expire)
    # The alarm repeats: one that lands in a __del__ or a bare except is
    # swallowed there, and the next one stops the render.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    except _Expired:
        armed["on"] = False
        raise PdfTimeout(f"PDF rendering took over {seconds:g} s") from None
    finally:
        armed["on"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
