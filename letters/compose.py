"""A letter, ready to send or print: gather its inputs, render, make the PDF.

``letters.selectors`` reads what the letter shows, ``letters.recipient``
gives its page link (creating the token on first need), ``letters.render``
renders purely and ``letters.pdf`` turns the print HTML into a PDF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from letters.pdf import html_to_pdf
from letters.recipient import recipient_link, recipient_url
from letters.render import RecipientLink, RenderedLetter, letter_render
from letters.selectors import letter_evidence, letter_render_data

if TYPE_CHECKING:
    from letters.models import Letter


def recipient_url_for(letter: Letter) -> str:
    """The recipient's own page for this letter ("" when no public URL is set).

    The link is derived again at every render (see ``letters.recipient``):
    the same letter prints the same link until its token is revoked.
    """
    if letter.pk is None:
        return ""
    return recipient_url(letter=letter)


def recipient_code_for(letter: Letter) -> tuple[str, str]:
    """Where to type the short code, and the code ("", "" without a public URL)."""
    if letter.pk is None:
        return "", ""
    _url, entry, code = recipient_link(letter=letter)
    return entry, code


def letter_compose(letter: Letter, *, language: str | None = None) -> RenderedLetter:
    """All four parts of ``letter`` in ``language`` (default: the letter's)."""
    hosts, total = letter_evidence(letter)
    url = recipient_url_for(letter)
    entry, code = recipient_code_for(letter) if url else ("", "")
    return letter_render(
        letter_render_data(letter, language=language),
        hosts=hosts,
        total=total,
        link=RecipientLink(url=url, entry=entry, code=code),
        language=language,
    )


def letter_pdf(letter: Letter, *, language: str | None = None) -> bytes:
    """The letter's print version as PDF, in its language unless told otherwise."""
    return html_to_pdf(letter_compose(letter, language=language).print_html)
