"""Letter content for the outbox tests.

This is not a renderer: it stands in for one so the outbox can be tested on
its own, without WeasyPrint's seconds per letter.
"""

from __future__ import annotations

from letters.models import Letter
from letters.outbox import LetterContent


def content(letter: Letter) -> LetterContent:
    return LetterContent(
        subject=f"Open relay {letter.pk}",
        text=f"Letter {letter.pk}\n",
        html=f"<p>Letter {letter.pk}</p>",
        language=letter.language,
        pdf=b"%PDF-1.7 test",
    )
