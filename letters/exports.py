"""Letter exports: a ZIP of PDFs (or one merged PDF) with a manifest, and the
background jobs the admin starts, with progress a page can poll.

An export job is a ZIP and a small JSON progress file in LETTERS_EXPORT_DIR,
both named by a random id. The progress file records the owner, so only the
user who started an export can read its progress or download it. Files work
with and without a result backend (embedded mode runs the task inline).
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from letters.compose import letter_compose
from letters.models import Letter
from letters.pdf import merged_pdf
from letters.rendered import letter_rendering_store
from outreach.lib.csvsafe import cell_safe

EXPORTABLE = (Letter.Status.APPROVED, Letter.Status.EXPORTED, Letter.Status.SENT)
# A merged PDF is held in memory whole (about 0.35 MB a page): beyond this many
# letters, export a ZIP or split the export by agency or language.
MAX_MERGED_LETTERS = 1000
_EXPORT_ID = re.compile(r"[0-9a-f]{16}")

MANIFEST_FIELDS = [
    "letter_id",
    "campaign",
    "agency",
    "contact_email",
    "organisation",
    "language",
    "language_reason",
    "hosts",
    "status",
    "file",
    "first_page",
    "last_page",
    "sha256",
    "message_sha256",
]


@dataclass
class ExportSummary:
    path: str
    letters: int
    merged: bool


def letters_export(
    *,
    letters: Iterable[Letter],
    out: Path,
    merged: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write a ZIP: one PDF per letter (or one merged PDF) and manifest.csv.

    File names carry agency, contact and letter id. The ZIP is written to a
    temporary name and renamed, so a crash never leaves a half file behind.
    """
    letters = list(letters)
    if merged and len(letters) > MAX_MERGED_LETTERS:
        raise ValueError(
            f"{len(letters)} letters is too many for one merged PDF (at most "
            f"{MAX_MERGED_LETTERS}); filter by --agency or --language, or export a ZIP."
        )
    tmp = out.with_name(out.name + ".part")
    try:
        _zip_write(tmp, letters, merged=merged, progress=progress)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return ExportSummary(path=str(out), letters=len(letters), merged=merged)


def _zip_write(
    path: Path,
    letters: list[Letter],
    *,
    merged: bool,
    progress: Callable[[int, int], None] | None,
) -> None:
    rows, htmls = [], []
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, letter in enumerate(letters, start=1):
            row = manifest_row(letter)
            if merged:
                htmls.append(letter_compose(letter).print_html)
            else:
                # The PDF rendered once: the same bytes as the one sent by email.
                stored = letter_rendering_store(letter=letter)
                row["file"] = letter_filename(letter)
                row["sha256"] = stored.pdf_sha256
                archive.writestr(row["file"], stored.pdf)
            rows.append(row)
            if progress:
                progress(done, len(letters))
        if merged and htmls:
            _merged_write(archive, rows, htmls)
        archive.writestr("manifest.csv", manifest_csv(rows))


def _merged_write(archive: zipfile.ZipFile, rows: list[dict], htmls: list[str]) -> None:
    pdf, counts = merged_pdf(htmls)
    first = 1
    for row, count in zip(rows, counts, strict=True):
        row.update(file="letters.pdf", first_page=first, last_page=first + count - 1)
        first += count
    archive.writestr("letters.pdf", pdf)


def letter_filename(letter: Letter) -> str:
    contact = re.sub(r"[^a-z0-9]+", "-", letter.contact.email.lower()).strip("-")[:60]
    return f"{letter.agency.code}_{contact}_{letter.pk}.pdf"


def manifest_row(letter: Letter) -> dict:
    return {
        "letter_id": letter.pk,
        "campaign": letter.campaign.slug,
        "agency": letter.agency.code,
        "contact_email": letter.contact.email,
        "organisation": letter.contact.organisation,
        "language": letter.language,
        "language_reason": letter.language_reason,
        "hosts": letter.hosts.count(),
        "status": letter.status,
        "file": "",
        "first_page": "",
        "last_page": "",
        "sha256": "",
        # The archived message as the mail server took it (letters.archive).
        "message_sha256": next(
            iter(letter.sent_messages.order_by("-recorded_at").values_list("sha256", flat=True)),
            "",
        ),
    }


def manifest_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=MANIFEST_FIELDS)
    writer.writeheader()
    for row in rows:
        # Organisation names come from WHOIS: never let a spreadsheet run them.
        writer.writerow({key: cell_safe(value) for key, value in row.items()})
    return buffer.getvalue()


# --- Background jobs ---------------------------------------------------------


def export_paths(export_id: str) -> tuple[Path, Path]:
    if not _EXPORT_ID.fullmatch(export_id):
        raise ValueError("Not an export id")
    base = Path(settings.LETTERS_EXPORT_DIR)
    return base / f"letters-{export_id}.zip", base / f"letters-{export_id}.json"


def export_job_create(*, user_id: int, total: int, merged: bool) -> str:
    """Reserve an id and write the queued state; the task does the work."""
    export_id = secrets.token_hex(8)
    Path(settings.LETTERS_EXPORT_DIR).mkdir(parents=True, exist_ok=True)
    _progress_write(export_id, owner=user_id, total=total, done=0, state="queued", merged=merged)
    return export_id


def export_job_run(*, export_id: str, letter_ids: list[int], user_id: int, merged: bool) -> None:
    """Export the letters this user may see, updating the progress file as it goes."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    letters = (
        Letter.objects.for_user(user)
        .filter(pk__in=letter_ids, status__in=EXPORTABLE)
        .select_related("campaign", "agency", "contact")
        .order_by("agency__code", "id")
    )
    out, _progress = export_paths(export_id)

    def progress(done: int, total: int) -> None:
        _progress_write(export_id, owner=user_id, total=total, done=done, state="running")

    try:
        summary = letters_export(letters=letters, out=out, merged=merged, progress=progress)
    except Exception:
        _progress_write(export_id, owner=user_id, total=len(letter_ids), done=0, state="failed")
        raise
    _progress_write(
        export_id, owner=user_id, total=summary.letters, done=summary.letters, state="done"
    )


def export_job_status(*, export_id: str, user_id: int) -> dict | None:
    """The job's progress for its owner, or None (unknown id or someone else's)."""
    try:
        _zip, path = export_paths(export_id)
        status = json.loads(path.read_text()[:10_000])
    except (ValueError, OSError):
        return None
    return status if status.get("owner") == user_id else None


def _progress_write(export_id: str, **status: object) -> None:
    _zip, path = export_paths(export_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(path)
