"""An upload into an existing feed announces the removals it would make, in Chromium (issue 20)."""

from __future__ import annotations

import io

import pytest

from outreach.models import Membership
from probes.feed_import import feed_import
from probes.models import Listing
from tests.browser.conftest import admin_login, shot
from tests.factories import AgencyFactory, FeedFactory, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks"),
]
PASSWORD = "correct horse battery staple"
# The commit form (the page also offers another upload, with its own mode choice).
COMMIT = "form:has(input[name=commit])"


def _upload(page, live_server, feed, lines: list[str]) -> None:
    page.goto(f"{live_server.url}/admin/probes/feed/{feed.pk}/upload/")
    content = ("\n".join(lines) + "\n").encode()
    upload = {"name": "partial.txt", "mimeType": "text/plain", "buffer": content}
    page.set_input_files("input[name=file]", files=[upload])
    page.click("input[name=preview]")


def test_the_preview_announces_removals_and_additions_only_keeps_them(page, live_server):
    agency = AgencyFactory(code="ftc")
    user = MembershipFactory(agency=agency, role=Membership.Role.INVESTIGATOR).user
    feed = FeedFactory(name="relays", format="plain")
    feed_import(feed=feed, stream=io.BytesIO(b"8.8.4.4\n8.8.8.8\n9.9.9.9\n1.1.1.1\n"))
    admin_login(page, live_server, user.username, PASSWORD)

    upload = ["8.8.4.4", "9.9.9.9", *(f"1.0.0.{n}" for n in range(1, 7))]
    _upload(page, live_server, feed, upload)
    shot(page, "feed-upload-preview-removals")
    removals = page.locator("#preview-removals")
    text = removals.inner_text()
    assert "would mark 2 listings of this feed removed" in text
    assert "8.8.8.8" in text and "1.1.1.1" in text
    assert page.locator("#preview-new-hosts").inner_text().strip() == "6"
    assert page.locator("#preview-updated-hosts").inner_text().strip() == "2"
    # The default keeps the feed's other listings.
    assert page.locator(f"{COMMIT} input[name=mode][value=additions]").is_checked()
    page.click("input[name=commit]")
    page.wait_for_load_state()
    shot(page, "feed-upload-committed-additions")
    assert not Listing.objects.filter(feed=feed, removed_at__isnull=False).exists()

    # The same file as the whole feed: the two absent listings are marked removed.
    _upload(page, live_server, feed, upload)
    page.check(f"{COMMIT} input[name=mode][value=snapshot]")
    page.click("input[name=commit]")
    page.wait_for_load_state()
    removed = Listing.objects.filter(feed=feed, removed_at__isnull=False)
    assert set(removed.values_list("host__ip", flat=True)) == {"8.8.8.8", "1.1.1.1"}
