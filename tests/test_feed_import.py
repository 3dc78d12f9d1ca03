"""The feed import service and command against the database (SQLite or PostgreSQL)."""

from __future__ import annotations

import gzip
import io
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from outreach.models import Host
from probes.feed_import import feed_import, feed_import_source
from probes.feeds import FeedError
from probes.models import Listing
from tests import factories
from tests.command_io import bar_drawn, run_command

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures" / "feeds"
DOC_RANGES = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]
METHODS = ["auto", "orm"]


@pytest.fixture
def doc_ranges_allowed(settings):
    # Fabricated data uses the documentation ranges; let the importer keep them.
    settings.PROBE_ALLOWED_NETWORKS = DOC_RANGES


def run(feed, data: bytes, **options):
    return feed_import(feed=feed, stream=io.BytesIO(data), **options)


def listed(feed, **filters) -> set[str]:
    rows = Listing.objects.filter(feed=feed, host__isnull=False, **filters)
    return set(rows.values_list("host__ip", flat=True))


@pytest.mark.parametrize("method", METHODS)
def test_it_imports_hosts_and_listings_and_counts_everything(method):
    feed = factories.FeedFactory()
    data = b"# list\n8.8.4.4\n8.8.4.4\n10.0.0.1\nnot-an-ip\n2a00:1450::1\n1.4.0.0/17 ; SBL1\n"
    summary = run(feed, data, fmt="plain", method=method)
    assert summary.as_dict() | {"seconds": 0} == {
        "feed": feed.name,
        "source": "",
        "format": "plain",
        "detected_by": "forced with --format plain",
        "lines": 7,
        "accepted": 4,
        "new_hosts": 2,
        "updated_hosts": 0,
        "duplicates": 1,
        "networks": 1,
        "expanded_networks": 0,
        "expanded_hosts": 0,
        "expansions_skipped": 0,
        "removed_listings": 0,
        "rejected": {"non_global": 1, "unparsable": 1},
        "not_modified": False,
        "seconds": 0,
    }
    assert set(Host.objects.values_list("ip", flat=True)) == {"8.8.4.4", "2a00:1450::1"}
    assert listed(feed) == {"8.8.4.4", "2a00:1450::1"}
    assert Listing.objects.get(feed=feed, host__isnull=True).cidr == "1.4.0.0/17"
    feed.refresh_from_db()
    assert feed.last_imported_at is not None


@pytest.mark.parametrize("method", METHODS)
def test_it_updates_last_seen_and_marks_what_disappeared_on_reimport(method):
    feed = factories.FeedFactory()
    run(feed, b"8.8.4.4\n8.8.8.8\n9.9.9.9\n1.4.0.0/17\n", method=method)
    earlier = timezone.now() - timedelta(days=2)
    Listing.objects.filter(feed=feed).update(first_seen=earlier, last_seen=earlier)

    summary = run(feed, b"8.8.4.4\n9.9.9.9\n1.1.1.1\n", method=method)

    assert (summary.new_hosts, summary.updated_hosts, summary.removed_listings) == (1, 2, 2)
    assert listed(feed, removed_at__isnull=True) == {"8.8.4.4", "9.9.9.9", "1.1.1.1"}
    assert listed(feed, removed_at__isnull=False) == {"8.8.8.8"}
    kept = Listing.objects.get(feed=feed, host__ip="8.8.4.4")
    assert kept.first_seen == earlier
    assert kept.last_seen > earlier
    assert Listing.objects.get(feed=feed, cidr="1.4.0.0/17").removed_at is not None

    run(feed, b"8.8.8.8\n", method=method)
    assert Listing.objects.get(feed=feed, host__ip="8.8.8.8").removed_at is None


@pytest.mark.parametrize("method", METHODS)
def test_it_keeps_each_feeds_evidence_apart(method):
    one, two = factories.FeedFactory(), factories.FeedFactory()
    run(one, b"8.8.4.4\n", method=method)
    run(two, b"8.8.4.4\n9.9.9.9\n", method=method)
    run(one, b"9.9.9.9\n", method=method)
    assert Host.objects.count() == 2
    assert listed(two, removed_at__isnull=True) == {"8.8.4.4", "9.9.9.9"}
    assert listed(one, removed_at__isnull=False) == {"8.8.4.4"}


@pytest.mark.parametrize("method", METHODS)
def test_it_adds_the_hosts_to_the_campaign(method):
    campaign = factories.CampaignFactory()
    feed = factories.FeedFactory()
    run(feed, b"8.8.4.4\n9.9.9.9\n", campaign=campaign, method=method)
    run(feed, b"8.8.4.4\n", campaign=campaign, method=method)
    assert set(campaign.hosts.values_list("ip", flat=True)) == {"8.8.4.4", "9.9.9.9"}


@pytest.mark.parametrize("method", METHODS)
def test_it_stores_feed_evidence_and_fills_asn_and_country(method, doc_ranges_allowed):
    feed = factories.FeedFactory(format="auto")
    data = (FIXTURES / "shadowserver_scan_smtp.csv").read_bytes()
    summary = run(feed, data, method=method)
    assert (summary.format, summary.new_hosts, summary.rejected) == ("csv", 2, {"unparsable": 1})
    host = Host.objects.get(ip="192.0.2.25")
    assert (host.asn, host.country) == (64500, "US")
    listing = Listing.objects.get(feed=feed, host=host)
    assert listing.reason == "smtp"
    assert listing.evidence["banner"] == "220 mail.isp.example ESMTP Postfix"
    assert listing.evidence["port"] == "25"


@pytest.mark.parametrize("method", METHODS)
def test_it_expands_small_networks_only_for_a_host_list(method, settings):
    settings.FEED_EXPAND_MAX_ADDRESSES = 4
    feed = factories.FeedFactory(is_host_list=True)
    summary = run(feed, b"8.8.4.0/30\n8.8.8.0/24\n", fmt="cidr", method=method)
    assert (summary.networks, summary.expanded_networks, summary.expanded_hosts) == (2, 1, 4)
    assert listed(feed) == {"8.8.4.0", "8.8.4.1", "8.8.4.2", "8.8.4.3"}
    assert set(Listing.objects.filter(host__isnull=True).values_list("cidr", flat=True)) == {
        "8.8.4.0/30",
        "8.8.8.0/24",
    }


def test_it_refuses_the_operators_never_contact_networks(settings):
    settings.NEVER_CONTACT_NETWORKS = ["8.8.4.0/24"]
    summary = run(factories.FeedFactory(), b"8.8.4.4\n8.8.8.8\n8.8.4.0/28\n")
    assert summary.rejected == {"never_contact": 2}
    assert list(Host.objects.values_list("ip", flat=True)) == ["8.8.8.8"]


@pytest.mark.parametrize(
    "data",
    [
        b"8.8.4.4\n" * 10_000 + b"\x00\x01binary\n",
        b"<html><body>Service unavailable</body></html>\n",
        gzip.compress(b"9.9.9.9\n" * 100_000)[:2000],
    ],
    ids=["binary", "html", "truncated-gzip"],
)
@pytest.mark.parametrize("method", METHODS)
def test_it_commits_nothing_from_a_failed_file_and_keeps_earlier_imports(data, method):
    feed = factories.FeedFactory()
    run(feed, b"1.1.1.1\n", method=method)
    with pytest.raises(FeedError, match=r"line \d+"):
        run(feed, b"8.8.4.4\n" + data, method=method)
    assert list(Host.objects.values_list("ip", flat=True)) == ["1.1.1.1"]
    assert listed(feed, removed_at__isnull=True) == {"1.1.1.1"}


def test_it_refuses_an_empty_download_instead_of_removing_every_listing():
    feed = factories.FeedFactory()
    run(feed, b"8.8.4.4\n")
    for empty in (b"", b"\n\n  \n", gzip.compress(b"")):
        with pytest.raises(FeedError, match="the file is empty"):
            run(feed, empty)
    assert listed(feed, removed_at__isnull=True) == {"8.8.4.4"}


def test_it_refuses_a_file_over_the_size_cap(settings):
    settings.FEED_MAX_BYTES = 100_000
    with pytest.raises(FeedError, match="larger than the 100,000 byte limit"):
        run(factories.FeedFactory(), b"8.8.4.4\n" * 20_000)
    assert not Host.objects.exists()


def test_the_command_prints_the_json_summary(capsys):
    call_command(
        "import_blocklist", str(FIXTURES / "spamhaus_drop.txt"), "--feed", "drop", "--json"
    )
    summary, total = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert total == {
        "summary": True,
        "feed": "drop",
        "files": 1,
        "failed": 0,
        "lines": 6,
        "accepted": summary["accepted"],
        "new_hosts": 0,
        "updated_hosts": 0,
        "duplicates": summary["duplicates"],
        "networks": 2,
    }
    assert {
        "lines",
        "accepted",
        "new_hosts",
        "updated_hosts",
        "duplicates",
        "networks",
        "rejected",
        "seconds",
    } <= set(summary)
    assert (summary["format"], summary["networks"], summary["lines"]) == ("spamhaus", 2, 6)
    assert Listing.objects.filter(feed__name="drop", cidr="2a06:e480::/29").exists()


def test_the_command_imports_the_good_files_and_fails_for_the_bad(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"<!DOCTYPE html>\n<html></html>\n")
    good = FIXTURES / "blocklist_de_mail.ipset"
    with pytest.raises(CommandError, match="1 of 2 files failed"):
        call_command("import_blocklist", str(bad), str(good), "--feed", "bl", "--json")
    first, second, total = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (total["summary"], total["files"], total["failed"]) == (True, 1, 1)
    assert (total["new_hosts"], total["duplicates"]) == (10, 1)
    assert first == {
        "source": str(bad),
        "error": "line 1: an HTML page was served instead of a list",
    }
    assert (second["new_hosts"], second["duplicates"], second["rejected"]) == (
        10,
        1,
        {"non_global": 1, "unparsable": 1},
    )


def test_the_command_shows_progress_on_a_terminal_only():
    args = ("import_blocklist", str(FIXTURES / "spamhaus_drop.txt"), "--feed", "drop")
    out, err = run_command(*args, tty=True)
    assert bar_drawn(err) and "lines" in err
    assert "spamhaus_drop.txt (spamhaus): 6 lines" in out and not bar_drawn(out)
    assert not bar_drawn(run_command(*args)[1])
    assert not bar_drawn(run_command(*args, "--json", tty=True)[1])


def test_the_command_marks_a_feed_as_a_host_list(capsys, settings):
    settings.FEED_EXPAND_MAX_ADDRESSES = 256
    factories.FeedFactory(name="dshield", format="auto", is_host_list=False)
    path = str(FIXTURES / "dshield_block.txt")
    call_command("import_blocklist", path, "--feed", "dshield", "--host-list", "--json")
    summary, _total = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (summary["networks"], summary["expanded_hosts"]) == (2, 512)
    assert Host.objects.filter(ip="43.229.53.255").exists()


def test_the_command_adds_to_a_campaign_and_names_an_unknown_one(capsys):
    campaign = factories.CampaignFactory()
    path = str(FIXTURES / "dataplane_smtpgreet.txt")
    call_command("import_blocklist", path, "--feed", "dp", "--campaign", campaign.slug)
    assert list(campaign.hosts.values_list("ip", flat=True)) == ["185.142.236.34"]
    assert "1 new hosts" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No campaign with slug 'nope'"):
        call_command("import_blocklist", path, "--feed", "dp", "--campaign", "nope")


# --- URLs, served from a loopback http.server thread -------------------------------


class _FeedHandler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes, str]] = {}
    requests: list[dict] = []

    def do_GET(self):
        self.requests.append(dict(self.headers))
        status, body, etag = self.routes.get(self.path, (404, b"not found", ""))
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self.send_response(status)
        if status in (301, 302):
            self.send_header("Location", body.decode())
        if etag:
            self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def feed_server():
    _FeedHandler.routes, _FeedHandler.requests = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FeedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _FeedHandler
    server.shutdown()
    server.server_close()


def test_it_fetches_a_url_conditionally_with_the_etag(feed_server):
    base, handler = feed_server
    handler.routes["/drop.txt"] = (200, (FIXTURES / "spamhaus_drop.txt").read_bytes(), '"v1"')
    feed = factories.FeedFactory(url=f"{base}/drop.txt", format="auto")

    first = feed_import_source(feed=feed)
    assert (first.format, first.networks) == ("spamhaus", 2)
    feed.refresh_from_db()
    assert feed.etag == '"v1"'

    second = feed_import_source(feed=feed)
    assert second.not_modified
    assert handler.requests[-1]["If-None-Match"] == '"v1"'
    assert Listing.objects.filter(feed=feed, removed_at__isnull=True).count() == 2


def test_it_reads_a_gzipped_url(feed_server):
    base, handler = feed_server
    handler.routes["/mail.txt.gz"] = (200, gzip.compress(b"8.8.4.4\n9.9.9.9\n"), "")
    summary = feed_import_source(feed=factories.FeedFactory(), source=f"{base}/mail.txt.gz")
    assert summary.new_hosts == 2


def test_it_names_an_http_error_and_an_html_error_page(feed_server):
    base, handler = feed_server
    handler.routes["/page"] = (200, b"<!doctype html><title>Login</title>", "")
    feed = factories.FeedFactory()
    with pytest.raises(FeedError, match="HTTP 404"):
        feed_import_source(feed=feed, source=f"{base}/missing")
    with pytest.raises(FeedError, match="line 1: an HTML page"):
        feed_import_source(feed=feed, source=f"{base}/page")
    feed.refresh_from_db()
    assert feed.etag == "" and feed.last_imported_at is None


def test_it_refuses_a_redirect_to_another_scheme(feed_server):
    base, handler = feed_server
    handler.routes["/list.txt"] = (302, b"ftp://127.0.0.1/list.txt", "")
    with pytest.raises(FeedError, match="refusing a redirect"):
        feed_import_source(feed=factories.FeedFactory(), source=f"{base}/list.txt")


def test_it_names_a_missing_local_file():
    with pytest.raises(FeedError, match=r"cannot open /nonexistent/list\.txt"):
        feed_import_source(feed=factories.FeedFactory(), source="/nonexistent/list.txt")


@pytest.mark.django_db
def test_the_json_summary_names_the_format_and_the_rule_that_decided_it(capsys):
    # A real abuse.ch CSV names its address column dst_ip: detection finds it
    # by its values, with no --ip-column.
    path = FIXTURES / "versions" / "abusech_feodo_2021.csv"
    call_command("import_blocklist", str(path), "--feed", "feodo", "--json")
    summary = json.loads(capsys.readouterr().out.splitlines()[-2])
    assert summary["format"] == "csv"
    assert "'dst_ip' (number 2)" in summary["detected_by"]
    assert summary["accepted"] == 6
