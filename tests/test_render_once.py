"""Each approved letter is rendered once: export and sending reuse the bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from email import message_from_bytes
from email.policy import default

import pytest
from django.conf import settings as django_settings

from lab.mailsink import MailSink
from letters import rendered
from letters.blobs import blob_path
from letters.build import letter_approve
from letters.exports import letters_export
from letters.models import Letter, SentMessage, Smarthost
from letters.outbox import outbox_send
from letters.rendered import (
    letter_rendering_discard,
    letter_rendering_store,
    letters_render_enqueue,
    render_queue,
)
from letters.tasks import letters_render_task
from outreach.celery import app
from tests.factories import AgencyFactory, CampaignFactory, UserFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


@pytest.fixture
def renders(monkeypatch):
    """Counts every call to the renderer (the real one does the work)."""
    calls = []
    real = rendered.renderer

    def counting(letter):
        calls.append(letter.pk)
        return real(letter)

    monkeypatch.setattr(rendered, "renderer", counting)
    return calls


def export(letters, out) -> list[dict]:
    letters_export(letters=letters, out=out)
    with zipfile.ZipFile(out) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        for row in rows:
            row["pdf"] = archive.read(row["file"])
    return rows


def fresh(letters):
    return list(Letter.objects.filter(id__in=[x.id for x in letters]).order_by("id"))


def test_a_second_export_and_the_send_render_nothing(renders, tmp_path):
    with MailSink() as sink:
        agency = AgencyFactory(code="ftc")
        Smarthost.objects.create(agency=agency, host=sink.host, port=sink.port, security="none")
        campaign = CampaignFactory(lead_agency=agency)
        letters = [
            letter_with_relays(campaign=campaign, language=lang, status=Letter.Status.APPROVED)
            for lang in ("fr", "en")
        ]
        first = export(fresh(letters), tmp_path / "one.zip")
        assert sorted(renders) == sorted(x.id for x in letters)
        second = export(fresh(letters), tmp_path / "two.zip")
        report = outbox_send(campaign_id=campaign.id)
        received = {r.message_id: r.data for r in sink.received}

    assert len(renders) == 2  # nothing rendered again
    assert report.outcomes["sent"] == 2
    assert [r["pdf"] for r in first] == [r["pdf"] for r in second]
    for row in first:
        letter = Letter.objects.get(id=row["letter_id"])
        assert row["sha256"] == letter.pdf_sha256 == hashlib.sha256(row["pdf"]).hexdigest()
        message = message_from_bytes(received[letter.message_id], policy=default)
        attached = next(message.iter_attachments()).get_content()
        assert attached == row["pdf"]  # the PDF sent is the PDF exported

    # After sending, the manifest also names the archived message's hash.
    after = export(fresh(letters), tmp_path / "three.zip")
    for row in after:
        archived = SentMessage.objects.get(letter_id=row["letter_id"])
        assert row["message_sha256"] == archived.sha256
        assert row["sha256"] == hashlib.sha256(row["pdf"]).hexdigest()
    assert len(renders) == 2


def test_discarding_a_rendering_makes_the_next_one_render_again(renders):
    letter = letter_with_relays(status=Letter.Status.APPROVED)
    stored = letter_rendering_store(letter=letter)
    path = blob_path(stored.pdf_sha256)
    assert path.exists()

    letter_rendering_discard(letter_id=letter.pk)

    letter.refresh_from_db()
    assert (letter.content_sha256, letter.pdf_sha256, letter.rendered_at) == ("", "", None)
    assert not path.exists()
    letter_rendering_store(letter=letter)
    assert renders == [letter.pk, letter.pk]


def test_a_draft_is_never_stored(renders):
    letter = letter_with_relays()
    with pytest.raises(ValueError, match="only approved letters"):
        letter_rendering_store(letter=letter)
    assert renders == []


def test_approving_queues_the_render_and_the_task_stores_it(
    renders, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(
        letters_render_task, "apply_async", lambda args, queue: queued.append((args, queue))
    )
    letter = letter_with_relays()
    user = UserFactory(is_superuser=True)
    with django_capture_on_commit_callbacks(execute=True):
        letter_approve(letter_id=letter.pk, user=user)
    assert queued == [([[letter.pk]], "render")]

    assert letters_render_task(*queued[0][0]) == 1
    assert letters_render_task(*queued[0][0]) == 0  # already stored
    assert renders == [letter.pk]


def test_cjk_letters_go_to_their_own_render_queue(monkeypatch):
    queued = []
    monkeypatch.setattr(
        letters_render_task, "apply_async", lambda args, queue: queued.append((args[0], queue))
    )
    ja = letter_with_relays(language="ja", status=Letter.Status.APPROVED)
    fr = letter_with_relays(language="fr", status=Letter.Status.APPROVED)
    zh = letter_with_relays(language="zh-hans", status=Letter.Status.APPROVED)

    assert letters_render_enqueue(letter_ids=[ja.pk, fr.pk, zh.pk]) == 2

    assert sorted(queued) == sorted([([fr.pk], "render"), ([ja.pk, zh.pk], "render-cjk")])
    assert (render_queue("ko"), render_queue("ar"), render_queue("en")) == (
        "render-cjk",
        "render",
        "render",
    )


def test_the_render_task_is_routed_to_the_render_queue_by_default():
    assert django_settings.CELERY_TASK_ROUTES["letters.render"] == {"queue": "render"}
    route = app.amqp.router.route({}, "letters.render")
    assert route["queue"].name == "render"
    assert app.amqp.router.route({}, "letters.tasks.letters_send_task")["queue"].name != "render"


def test_revoking_approval_discards_the_rendering_and_the_next_approval_renders_again(renders):
    from letters.approval import letter_approval_revoke
    from letters.build import letter_approve, letter_language_set

    user = UserFactory(is_superuser=True)
    letter = letter_with_relays(language="fr", status=Letter.Status.APPROVED)
    first = letter_rendering_store(letter=letter)
    letter_approval_revoke(letter_id=letter.pk, user=user, reason="wrong language")
    letter.refresh_from_db()
    assert (letter.content_sha256, letter.pdf_sha256, letter.rendered_at) == ("", "", None)
    letter_language_set(letter_id=letter.pk, language="es", user=user)
    letter_approve(letter_id=letter.pk, user=user)
    letter.refresh_from_db()
    second = letter_rendering_store(letter=letter)
    assert (first.language, second.language) == ("fr", "es")
    assert renders == [letter.pk, letter.pk]
