"""The admin upload: preview first, commit second, progress page, scoping."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outreach.models import Host, Membership
from probes import uploads
from probes.models import Feed, Listing
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]
FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


@pytest.fixture
def investigator(client):
    membership = factories.MembershipFactory(role=Membership.Role.INVESTIGATOR)
    user = membership.user
    user.is_staff = True
    user.save()
    from django.contrib.auth.models import Permission

    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="probes"))
    client.force_login(user)
    return user


def upload_url(feed):
    return reverse("admin:probes_feed_upload", args=[feed.pk])


def preview(client, feed, data: bytes, name="list.txt", **fields):
    upload = SimpleUploadedFile(name, data, content_type="text/plain")
    return client.post(upload_url(feed), {"file": upload, "preview": "1", **fields})


def test_it_previews_an_upload_without_importing_anything(admin_client):
    feed = factories.FeedFactory(format="auto")
    response = preview(admin_client, feed, (FIXTURES / "blocklist_de_mail.ipset").read_bytes())
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="preview-format">plain<' in page
    assert 'id="preview-lines">34<' in page
    assert 'id="preview-accepted">11<' in page
    assert "1.10.240.209" in page
    assert "not-an-ip" in page  # the refused line is shown with its number
    assert "INVALID_TEMPLATE_VARIABLE" not in page
    assert not Host.objects.exists()
    assert not Listing.objects.exists()


def test_it_imports_on_commit_and_shows_the_summary(
    admin_client, django_capture_on_commit_callbacks
):
    feed = factories.FeedFactory(format="auto")
    campaign = factories.CampaignFactory()
    response = preview(
        admin_client,
        feed,
        (FIXTURES / "spamhaus_drop.txt").read_bytes(),
        campaign=str(campaign.pk),
    )
    token = response.context["token"]
    assert f'name="campaign" value="{campaign.pk}"' in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            upload_url(feed),
            {"token": token, "commit": "1", "format": "", "ip_column": "", "campaign": campaign.pk},
        )
    response = admin_client.get(response["Location"])
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="import-state">Imported.<' in page
    assert "INVALID_TEMPLATE_VARIABLE" not in page
    # The summary reads from the file to what was done to it.
    keys = [key for key, _label, _value in response.context["summary"]]
    assert keys[:6] == ["feed", "source", "format", "detected_by", "lines", "accepted"]
    assert keys[-3:] == ["rejected", "not_modified", "seconds"]
    # The result page offers the next steps, for this campaign's hosts.
    hosts = reverse("admin:outreach_host_changelist")
    assert f'href="{hosts}?status__exact=suspected&amp;campaign={campaign.pk}"' in page
    assert reverse("admin:outreach_campaign_home", args=[campaign.pk]) in page
    assert set(Listing.objects.filter(feed=feed).values_list("cidr", flat=True)) == {
        "1.4.0.0/17",
        "2a06:e480::/29",
    }
    assert not uploads.upload_exists(token)
    assert campaign.hosts.count() == 0  # DROP lists networks only, no hosts
    # A second commit of the same upload is refused clearly.
    response = admin_client.post(upload_url(feed), {"token": token, "commit": "1"})
    assert "already imported" in response.content.decode()


def test_it_shows_progress_while_running_and_the_error_when_failed(admin_client):
    feed = factories.FeedFactory()
    token = uploads.upload_save(chunks=[b"8.8.4.4\n"])
    url = reverse("admin:probes_feed_upload_status", args=[feed.pk, token])
    uploads._status_write(token, {"state": "running", "lines": 50000, "feed": feed.name})
    page = admin_client.get(url).content.decode()
    assert "50,000 lines read so far" in page
    assert 'http-equiv="refresh"' in page
    uploads._status_write(token, {"state": "failed", "error": "line 3: binary data"})
    page = admin_client.get(url).content.decode()
    assert "line 3: binary data" in page
    assert 'http-equiv="refresh"' not in page


def test_it_reports_a_bad_upload_in_the_form(admin_client):
    feed = factories.FeedFactory()
    response = preview(admin_client, feed, b"<html><body>Forbidden</body></html>")
    assert "an HTML page was served instead of a list" in response.content.decode()
    assert not Host.objects.exists()


def test_it_refuses_a_token_that_names_another_file(admin_client):
    feed = factories.FeedFactory()
    url = reverse("admin:probes_feed_upload_status", args=[feed.pk, "..%2F..%2Fsecret_key"])
    assert admin_client.get(url).status_code == 404
    response = admin_client.post(upload_url(feed), {"token": "../../x", "commit": "1"})
    assert "already imported" in response.content.decode() or response.status_code == 200
    assert not Host.objects.exists()


def test_it_hides_the_upload_from_a_partner_agency(client):
    membership = factories.MembershipFactory(role=Membership.Role.COORDINATOR)
    membership.user.is_staff = True
    membership.user.save()
    client.force_login(membership.user)
    feed = factories.FeedFactory()
    assert client.get(upload_url(feed)).status_code in (403, 404)
    upload = SimpleUploadedFile("x.txt", b"8.8.4.4\n")
    assert client.post(upload_url(feed), {"file": upload}).status_code in (403, 404)
    assert not Host.objects.exists()


def test_it_offers_only_the_users_campaigns(investigator, client):
    feed = Feed.objects.create(name="mine")
    factories.CampaignFactory()
    upload = SimpleUploadedFile("x.txt", b"8.8.4.4\n")
    response = client.post(upload_url(feed), {"file": upload, "campaign": 999999})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_feed_page_links_to_the_upload(admin_client):
    feed = factories.FeedFactory()
    page = admin_client.get(reverse("admin:probes_feed_change", args=[feed.pk])).content.decode()
    assert upload_url(feed) in page


def test_the_import_now_action_queues_the_feeds_with_a_url(
    admin_client, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "list.txt"
    path.write_bytes(b"8.8.4.4\n")
    feed = factories.FeedFactory(url=str(path))
    factories.FeedFactory(url="")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:probes_feed_changelist"),
            {"action": "import_now", "_selected_action": [f.pk for f in Feed.objects.all()]},
            follow=True,
        )
    assert "1 feed import queued." in response.content.decode()
    assert list(Host.objects.values_list("ip", flat=True)) == ["8.8.4.4"]
    assert Listing.objects.filter(feed=feed).count() == 1


def test_it_says_what_decided_the_format_in_the_preview(admin_client):
    feed = factories.FeedFactory(format="auto")
    data = (FIXTURES / "versions" / "dshield_block_2018_netmask.txt").read_bytes()
    page = preview(admin_client, feed, data).content.decode()
    assert 'id="preview-format">dshield<' in page
    assert 'id="preview-detected-by">20 of 20 sampled lines are DShield rows' in page


def test_the_preview_says_what_a_commit_would_change_and_asks_before_removing(
    admin_client, django_capture_on_commit_callbacks
):
    from probes.feed_import import feed_import

    feed = factories.FeedFactory(format="plain")
    feed_import(feed=feed, stream=io.BytesIO(b"8.8.4.4\n8.8.8.8\n9.9.9.9\n1.1.1.1\n"))
    # Eight lines, of which two are known: a partial list, not the whole feed.
    upload = b"8.8.4.4\n9.9.9.9\n" + b"".join(b"1.0.0.%d\n" % n for n in range(1, 7))
    response = preview(admin_client, feed, upload)
    page = response.content.decode()
    assert 'id="preview-new-hosts">6<' in page
    assert 'id="preview-updated-hosts">2<' in page
    assert response.context["preview"].removals == 2
    assert "would mark 2 listings of this feed removed" in page
    assert "<code>8.8.8.8</code>" in page and "<code>1.1.1.1</code>" in page
    token = response.context["token"]

    def commit(mode: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(upload_url(feed), {"token": token, "commit": "1", "mode": mode})

    commit("additions")
    assert Listing.objects.filter(feed=feed, removed_at__isnull=False).count() == 0
    token = preview(admin_client, feed, upload).context["token"]
    commit("snapshot")
    removed = Listing.objects.filter(feed=feed, removed_at__isnull=False)
    assert set(removed.values_list("host__ip", flat=True)) == {"8.8.8.8", "1.1.1.1"}
