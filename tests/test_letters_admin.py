from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from letters import tasks
from letters.models import Letter
from outreach.models import Membership
from tests.factories import AgencyFactory, MembershipFactory, UserFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


@pytest.fixture(autouse=True)
def _exports_here(settings, tmp_path, monkeypatch):
    settings.LETTERS_EXPORT_DIR = tmp_path / "exports"
    # Run the export in-process whatever the broker: these tests check the flow.
    monkeypatch.setattr(
        tasks.letters_export_task, "delay", lambda **kw: tasks.letters_export_task.apply(kwargs=kw)
    )


def staff(agency, *perms):
    user = UserFactory()
    codenames = ["view_letter", "change_letter", *perms]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    # Roles grant permissions too (outreach.roles): a coordinator may approve
    # and send, so a user meant to lack those is a viewer.
    may_act = {"approve_letter", "send_letter"} & set(perms)
    role = Membership.Role.COORDINATOR if may_act else Membership.Role.VIEWER
    MembershipFactory(user=user, agency=agency, role=role)
    return user


def test_it_previews_a_letter_as_html_in_any_language(client):
    letter = letter_with_relays(language="en")
    client.force_login(staff(letter.agency))
    url = reverse("admin:letters_letter_preview", args=[letter.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert b"Dear network administrator," in response.content
    assert b"INVALID_TEMPLATE_VARIABLE" not in response.content
    assert "Madame, Monsieur," in client.get(url + "?language=fr").content.decode()


def test_it_previews_a_letter_as_pdf(client):
    letter = letter_with_relays()
    client.force_login(staff(letter.agency))
    response = client.get(reverse("admin:letters_letter_pdf", args=[letter.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")


def test_it_hides_another_agencys_letter(client):
    letter = letter_with_relays()
    client.force_login(staff(AgencyFactory()))
    for name in ("admin:letters_letter_preview", "admin:letters_letter_pdf"):
        assert client.get(reverse(name, args=[letter.pk])).status_code == 404


def test_it_approves_with_the_permission_only(client):
    letter = letter_with_relays()
    changelist = reverse("admin:letters_letter_changelist")
    data = {"action": "approve_selected", "_selected_action": [letter.pk]}
    client.force_login(staff(letter.agency))
    client.post(changelist, data)
    assert Letter.objects.get().status == Letter.Status.DRAFT
    client.force_login(staff(letter.agency, "approve_letter"))
    client.post(changelist, data)
    assert Letter.objects.get().status == Letter.Status.APPROVED


def post_language(admin_client, letter, language, **kwargs):
    """Save the letter's change form as it is, but for the language."""
    url = reverse("admin:letters_letter_change", args=[letter.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "hosts"}
    data.update(
        campaign=letter.campaign_id,
        agency=letter.agency_id,
        contact=letter.contact_id,
        hosts=",".join(str(h.pk) for h in letter.hosts.all()),
        language=language,
        created_at_0="2026-01-01",
        created_at_1="00:00:00",
        **{
            "responses-TOTAL_FORMS": 0,
            "responses-INITIAL_FORMS": 0,
            "responses-MIN_NUM_FORMS": 0,
            "responses-MAX_NUM_FORMS": 1000,
        },
    )
    return admin_client.post(url, data, **kwargs)


def test_it_marks_a_hand_picked_language(admin_client):
    letter = letter_with_relays(language="en")
    response = post_language(admin_client, letter, "fr")
    assert response.status_code == 302, response.context["adminform"].form.errors
    letter.refresh_from_db()
    assert (letter.language, letter.language_reason) == ("fr", "investigator")


def test_it_keeps_the_language_of_a_sent_letter_the_admin_tries_to_change(admin_client):
    # The change goes through letter_language_set, which refuses a letter
    # that has gone out: the admin used to write the language regardless.
    letter = letter_with_relays(language="en", status=Letter.Status.SENT)
    response = post_language(admin_client, letter, "fr", follow=True)
    letter.refresh_from_db()
    assert letter.language == "en" and letter.language_reason != "investigator"
    assert "Language not changed" in response.content.decode()


def test_it_exports_from_the_admin_with_progress_and_download(
    client, django_capture_on_commit_callbacks
):
    letter = letter_with_relays(status=Letter.Status.APPROVED)
    draft = letter_with_relays(campaign=letter.campaign, agency=letter.agency)
    user = staff(letter.agency, "send_letter")
    client.force_login(user)
    data = {"action": "export_selected", "_selected_action": [letter.pk, draft.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        with_commit = client.post(reverse("admin:letters_letter_changelist"), data)
    assert with_commit.status_code == 302
    progress = client.get(with_commit["Location"])
    assert progress.status_code == 200
    assert b"done" in progress.content and b"1 of 1" in progress.content
    download = client.get(with_commit["Location"] + "download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert sorted(archive.namelist())[-1] == "manifest.csv" and len(archive.namelist()) == 2
    client.force_login(staff(letter.agency, "send_letter"))
    assert client.get(with_commit["Location"]).status_code == 404  # not the owner's


def test_it_refuses_the_export_action_without_the_permission(client, settings):
    letter = letter_with_relays(status=Letter.Status.APPROVED)
    client.force_login(staff(letter.agency))
    data = {"action": "export_selected", "_selected_action": [letter.pk]}
    response = client.post(reverse("admin:letters_letter_changelist"), data)
    assert response.status_code == 200  # Django answers "No action selected"
    assert not settings.LETTERS_EXPORT_DIR.exists()


def test_the_html_preview_escapes_the_letter_into_its_srcdoc_attribute(admin_client):
    from tests.letters_helpers import letter_with_relays

    letter = letter_with_relays()
    page = admin_client.get(f"/admin/letters/letter/{letter.pk}/preview/").content.decode()
    srcdoc = page.split('srcdoc="', 1)[1].split('"', 1)[0]
    # The whole letter sits inside the attribute, escaped: no quote ends it early.
    assert srcdoc.startswith("&lt;!DOCTYPE html&gt;")
    assert "Dear network administrator," in srcdoc
    assert srcdoc.rstrip().endswith("&lt;/html&gt;")
