"""Render each approved letter once and keep the result, content-addressed.

The email bodies (subject, text, HTML) and the PDF of a letter are rendered
once, when it is approved (a ``render`` queue task) or in bulk before export
and sending, and stored in the blob store by SHA-256 with the hashes on the
letter. Export and sending read the stored bytes, so the PDF a recipient gets
by email is byte for byte the one in the export, and its hash is the same.
Revoking the approval discards them; the next approval renders again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from letters.blobs import BlobMissing, blob_discard, blob_get, blob_path, blob_put
from letters.models import Letter

# Letters whose text is settled: a draft may still change, so it is never stored.
RENDERABLE = (
    Letter.Status.APPROVED,
    Letter.Status.SENDING,
    Letter.Status.EXPORTED,
    Letter.Status.SENT,
    Letter.Status.FAILED,
)
CJK = ("ja", "ko", "zh")


@dataclass(frozen=True)
class StoredLetter:
    subject: str
    text: str
    html: str
    language: str
    pdf: bytes
    pdf_sha256: str


def render_queue(language: str) -> str:
    """CJK letters go to workers that load the CJK fonts; Latin workers stay small."""
    return "render-cjk" if language.split("-")[0].lower() in CJK else "render"


def _renderer(letter: Letter) -> tuple[dict[str, str], bytes]:
    from letters.compose import letter_compose
    from letters.pdf import html_to_pdf

    rendered = letter_compose(letter)
    bodies = {
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "language": rendered.language,
    }
    return bodies, html_to_pdf(rendered.print_html)


# The one place letters are rendered for keeps; tests count calls through it.
Renderer = Callable[[Letter], tuple[dict[str, str], bytes]]
renderer: Renderer = _renderer


def letter_rendering_store(*, letter: Letter) -> StoredLetter:
    """The letter's stored rendering, rendering and storing it first if needed."""
    stored = letter_rendering_read(letter)
    if stored is not None:
        return stored
    if letter.status not in RENDERABLE:
        raise ValueError(f"letter {letter.pk} is {letter.status}: only approved letters are kept")
    bodies, pdf = renderer(letter)
    content_sha256 = blob_put(json.dumps(bodies, ensure_ascii=False).encode("utf-8"))
    pdf_sha256 = blob_put(pdf)
    letter.content_sha256, letter.pdf_sha256 = content_sha256, pdf_sha256
    letter.rendered_at = timezone.now()
    Letter.objects.filter(id=letter.pk).update(
        content_sha256=content_sha256, pdf_sha256=pdf_sha256, rendered_at=letter.rendered_at
    )
    return StoredLetter(pdf=pdf, pdf_sha256=pdf_sha256, **bodies)


def letter_rendering(letter: Letter) -> StoredLetter:
    """Stored for an approved letter; rendered afresh, and not kept, for a
    draft (a preview), whose text may still change."""
    if letter.status in RENDERABLE:
        return letter_rendering_store(letter=letter)
    bodies, pdf = renderer(letter)
    return StoredLetter(pdf=pdf, pdf_sha256="", **bodies)


def letter_rendering_read(letter: Letter) -> StoredLetter | None:
    """The stored rendering, or None (never rendered, or its files are gone)."""
    if not (letter.content_sha256 and letter.pdf_sha256):
        return None
    try:
        bodies = json.loads(blob_get(letter.content_sha256))
        pdf = blob_get(letter.pdf_sha256)
    except BlobMissing:
        return None
    return StoredLetter(pdf=pdf, pdf_sha256=letter.pdf_sha256, **bodies)


def letters_rendering_store(*, letter_ids: list[int]) -> int:
    """Bulk (the render task): store every renderable letter not stored yet."""
    letters = (
        Letter.objects.filter(id__in=letter_ids, status__in=RENDERABLE)
        .select_related("campaign", "agency", "contact")
        .order_by("id")
    )
    done = 0
    for letter in letters:
        if not _stored(letter):
            letter_rendering_store(letter=letter)
            done += 1
    return done


def _stored(letter: Letter) -> bool:
    hashes = (letter.content_sha256, letter.pdf_sha256)
    return all(hashes) and all(blob_path(h).exists() for h in hashes)


def letter_rendering_discard(*, letter_id: int) -> None:
    """Forget a letter's rendering (its approval was revoked); the next
    approval renders again. Files that another letter shares stay."""
    letter = Letter.objects.filter(id=letter_id).first()
    if letter is None:
        return
    hashes = [h for h in (letter.content_sha256, letter.pdf_sha256) if h]
    Letter.objects.filter(id=letter_id).update(content_sha256="", pdf_sha256="", rendered_at=None)
    for sha256 in hashes:
        shared = Letter.objects.filter(Q(content_sha256=sha256) | Q(pdf_sha256=sha256))
        if not shared.exists():
            blob_discard(sha256)


def letters_render_enqueue(*, letter_ids: list[int], batch: int = 50) -> int:
    """Queue render tasks for these letters, Latin and CJK apart, in batches."""
    # By its registered name: importing letters.tasks here would close an
    # import cycle (tasks → exports → rendered).
    from celery import current_app

    letters_render_task = current_app.tasks["letters.render"]
    rows = Letter.objects.filter(id__in=letter_ids).values_list("id", "language")
    by_queue: dict[str, list[int]] = {}
    for letter_id, language in rows.order_by("id"):
        by_queue.setdefault(render_queue(language), []).append(letter_id)
    tasks = 0
    for queue, ids in sorted(by_queue.items()):
        for start in range(0, len(ids), batch):
            letters_render_task.apply_async(args=[ids[start : start + batch]], queue=queue)
            tasks += 1
    return tasks
