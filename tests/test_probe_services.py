"""Probing hosts from the database: verdicts, statuses, safety, DNS, the command."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lab.dns import LabDNS
from lab.smtp import Lab
from outreach.models import Host
from probes import selectors, smtp
from probes.models import Probe
from probes.status import host_status_next
from probes.verify import hosts_verify, temp_retry_delay
from tests.command_io import bar_drawn, json_lines, run_command
from tests.factories import CampaignFactory, HostFactory
from tests.probe_helpers import lab_mode_set

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def lab():
    with Lab(network=78, tarpit_seconds=30) as lab:
        yield lab
    assert lab.data_attempts() == 0


@pytest.fixture
def lab_hosts(lab, settings, tmp_path):
    """Create Host rows in 203.0.113/24 and map them onto new lab hosts."""
    # verify_relays probes in-process here; the Redis path is in test_probe_tasks.
    host_map = lab_mode_set(settings, tmp_path)
    mapping: dict[str, str] = {}
    # Addresses of our own in 203.0.113/24: the factory's sequence turns to
    # IPv6 once earlier tests in the run have made 250 hosts.
    addresses = (f"203.0.113.{n}" for n in range(1, 255))

    def make(behaviours: list[str], **fields) -> list[tuple[Host, object]]:
        made = []
        for lab_host in lab.hosts_add(behaviours):
            host = HostFactory(**{"ip": next(addresses), **fields})
            mapping[host.ip] = lab_host.endpoint
            made.append((host, lab_host))
        host_map.write_text(json.dumps(mapping))
        return made

    return make


def test_it_records_each_verdict_and_the_host_status(lab_hosts):
    made = lab_hosts(["open", "closed", "auth", "garbage", "greylist", "drop"])
    results = hosts_verify(host_ids=[h.id for h, _ in made])
    expected = [
        (smtp.OPEN_RELAY, Host.Status.OPEN_RELAY),
        (smtp.NOT_RELAY, Host.Status.NOT_RELAY),
        (smtp.AUTH_REQUIRED, Host.Status.NOT_RELAY),
        (smtp.NO_SMTP, Host.Status.UNREACHABLE),
        (smtp.TEMP_FAILURE, Host.Status.SUSPECTED),
        (smtp.PROTOCOL_ERROR, Host.Status.SUSPECTED),
    ]
    by_id = {r.host_id: r for r in results}
    for (host, _), (verdict, status) in zip(made, expected, strict=True):
        host.refresh_from_db()
        probe = Probe.objects.get(host=host)
        assert (by_id[host.id].verdict, probe.verdict, host.last_verdict) == (verdict,) * 3
        assert host.status == status
        assert host.last_probed_at is not None
    open_probe = Probe.objects.get(host=made[0][0])
    assert open_probe.tests_passed == [2]  # the plainest test runs first (smtp.RUN_ORDER)
    assert "C: RCPT TO:<relaytest@" in open_probe.transcript
    assert open_probe.banner.startswith(made[0][1].name)
    assert open_probe.passed_exchange().splitlines()[-1].endswith("S: 250 2.1.5 OK")
    assert Probe.objects.get(host=made[1][0]).passed_exchange() == ""


def test_it_marks_a_relay_fixed_when_its_owner_closes_it(lab, lab_hosts):
    [(host, lab_host)] = lab_hosts(["open"])
    hosts_verify(host_ids=[host.id])
    host.refresh_from_db()
    assert (host.status, host.fixed_at) == (Host.Status.OPEN_RELAY, None)
    lab.host_behaviour_set(lab_host.ip, "closed")
    hosts_verify(host_ids=[host.id])
    host.refresh_from_db()
    assert host.status == Host.Status.FIXED
    assert host.fixed_at is not None
    assert list(Probe.objects.filter(host=host).values_list("verdict", flat=True)) == [
        smtp.NOT_RELAY,
        smtp.OPEN_RELAY,
    ]


def test_it_stores_hostile_server_text_escaped(lab_hosts):
    [(host, _)] = lab_hosts(["binary"])
    hosts_verify(host_ids=[host.id])
    probe = Probe.objects.get(host=host)
    assert probe.banner == "mx\\x00\\x1b[2J\\xff\\xfe ESMTP"
    assert "\x00" not in probe.transcript
    assert "\x1b" not in probe.transcript


@pytest.mark.parametrize(
    ("current", "verdict", "after"),
    [
        ("suspected", smtp.NOT_RELAY, "not_relay"),
        ("open_relay", smtp.NOT_RELAY, "fixed"),
        ("open_relay", smtp.AUTH_REQUIRED, "fixed"),
        ("fixed", smtp.NOT_RELAY, "fixed"),
        ("fixed", smtp.OPEN_RELAY, "open_relay"),
        ("open_relay", smtp.TIMEOUT, "open_relay"),
        ("open_relay", smtp.REFUSED, "open_relay"),
        ("open_relay", smtp.NO_SMTP, "open_relay"),
        ("open_relay", smtp.PROTOCOL_ERROR, "open_relay"),
        ("open_relay", smtp.TLS_FAILED, "open_relay"),
        ("fixed", smtp.REFUSED, "fixed"),
        ("suspected", smtp.REFUSED, "unreachable"),
        ("suspected", smtp.TIMEOUT, "unreachable"),
        ("open_relay", smtp.TEMP_FAILURE, "open_relay"),
        ("not_relay", smtp.TLS_FAILED, "not_relay"),
        ("suspected", smtp.PROTOCOL_ERROR, "suspected"),
    ],
)
def test_it_maps_verdicts_to_host_status(current, verdict, after):
    assert host_status_next(current, verdict) == after


def test_it_refuses_private_and_loopback_targets_when_not_allowed(lab, settings):
    settings.PROBE_ALLOWED_NETWORKS = []
    [lab_host] = lab.hosts_add(["open"])
    hosts = [HostFactory(ip="10.1.2.3"), HostFactory(ip=lab_host.ip), HostFactory(ip="::1")]
    results = hosts_verify(host_ids=[h.id for h in hosts], port=lab_host.port)
    assert [r.verdict for r in results] == [smtp.SKIPPED] * 3
    assert {r.error for r in results} == {"non_global"}
    assert lab_host.connections == 0
    assert not Probe.objects.exists()
    assert set(Host.objects.values_list("status", flat=True)) == {Host.Status.SUSPECTED}


def test_it_probes_loopback_only_when_allowed(lab, settings):
    settings.PROBE_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    [lab_host] = lab.hosts_add(["closed"])
    host = HostFactory(ip=lab_host.ip)
    [result] = hosts_verify(host_ids=[host.id], port=lab_host.port)
    assert result.verdict == smtp.NOT_RELAY
    assert lab_host.connections == 1


def test_it_never_probes_the_never_contact_list_even_in_the_lab(lab_hosts, settings):
    [(host, lab_host)] = lab_hosts(["open"])
    settings.NEVER_CONTACT_NETWORKS = ["203.0.113.0/24"]
    [result] = hosts_verify(host_ids=[host.id])
    assert (result.verdict, result.error) == (smtp.SKIPPED, "never_contact")
    assert lab_host.connections == 0


def test_it_ignores_the_lab_map_outside_lab_mode(lab_hosts, settings):
    [(host, lab_host)] = lab_hosts(["open"])
    settings.LAB_MODE = False
    [result] = hosts_verify(host_ids=[host.id])
    # 203.0.113/24 is a documentation range: refused, and nothing connected.
    assert result.verdict == smtp.SKIPPED
    assert lab_host.connections == 0


def test_it_stores_ptr_and_dnsbl_evidence(lab_hosts, settings):
    [(host, _)] = lab_hosts(["open"])
    reverse = ".".join(reversed(host.ip.split(".")))
    records = {
        f"{reverse}.in-addr.arpa": ("PTR", "mail.isp.example."),
        f"{reverse}.bl.lab.test": ("A", "127.0.0.2"),
    }
    with LabDNS(records) as server:
        settings.PROBE_DNS_RESOLVER = server.address
        settings.DNSBL_ZONES = ["bl.lab.test", "other.lab.test"]
        hosts_verify(host_ids=[host.id])
    host.refresh_from_db()
    assert host.ptr == "mail.isp.example"
    assert Probe.objects.get(host=host).dns == {"ptr": "mail.isp.example", "dnsbl": ["bl.lab.test"]}


def test_it_prints_one_json_object_per_host(lab_hosts):
    made = lab_hosts(["open", "closed"])
    out = StringIO()
    call_command("verify_relays", "--ip", *[h.ip for h, _ in made], "--json", stdout=out)
    *rows, summary = [json.loads(line) for line in out.getvalue().splitlines()]
    assert summary == {
        "summary": True,
        "hosts": 2,
        "verdicts": {smtp.NOT_RELAY: 1, smtp.OPEN_RELAY: 1},
    }
    assert {(r["ip"], r["verdict"]) for r in rows} == {
        (made[0][0].ip, smtp.OPEN_RELAY),
        (made[1][0].ip, smtp.NOT_RELAY),
    }
    assert all({"ip", "port", "verdict", "tests_passed", "seconds"} <= r.keys() for r in rows)


def test_it_verifies_a_whole_campaign_with_all_tests(lab_hosts):
    made = lab_hosts(["percent", "closed"])
    campaign = CampaignFactory()
    campaign.hosts.set([h for h, _ in made])
    out = StringIO()
    call_command("verify_relays", "--campaign", campaign.slug, "--all-tests", stdout=out)
    assert Probe.objects.get(host=made[0][0]).tests_passed == [5, 6, 8]
    assert "2 hosts probed (not_relay: 1, open_relay: 1)" in out.getvalue()


def test_it_shows_the_probing_progress_on_a_terminal_only(lab_hosts):
    ips = [h.ip for h, _ in lab_hosts(["open", "closed"])]
    out, err = run_command("verify_relays", "--ip", *ips, tty=True)
    assert bar_drawn(err) and "2/2" in err
    assert "2 hosts probed (not_relay: 1, open_relay: 1)" in out and not bar_drawn(out)
    assert not bar_drawn(run_command("verify_relays", "--ip", *ips)[1])
    assert not bar_drawn(run_command("verify_relays", "--ip", *ips, "--json", tty=True)[1])


def test_it_probes_a_target_directly_under_the_same_rules(lab, settings):
    [lab_host] = lab.hosts_add(["open"])
    target = f"{lab_host.ip}:{lab_host.port}"
    out = StringIO()
    settings.PROBE_ALLOWED_NETWORKS = []
    call_command("verify_relays", "--target", target, "--json", stdout=out)
    assert json_lines(out)[0]["verdict"] == smtp.SKIPPED
    settings.PROBE_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    out = StringIO()
    call_command("verify_relays", "--target", target, "--json", stdout=out)
    row, summary = json_lines(out)
    assert row["verdict"] == smtp.OPEN_RELAY
    assert summary["verdicts"] == {smtp.OPEN_RELAY: 1}
    assert not Probe.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ip", "198.51.100.1"], "not known hosts: 198.51.100.1"),
        (["--ip", "2001:DB8::0:1"], "not known hosts: 2001:db8::1"),
        (["--ip", "relay.example"], "is not an IP address"),
        (["--campaign", "nope"], "has no hosts"),
        (["--target", "mail.example.com"], "not an IP address"),
        (["--target", "192.0.2.1:99999"], "port must be"),
    ],
)
def test_it_explains_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("verify_relays", *args)


def test_it_keeps_retry_delays_under_the_visibility_timeout(settings):
    settings.PROBE_TEMP_RETRY_DELAY = 300
    settings.CELERY_VISIBILITY_TIMEOUT = 1800
    assert [temp_retry_delay(a) for a in range(4)] == [300, 600, 1200, 1740]


def test_it_selects_open_relays_due_for_reverification(settings):
    settings.PROBE_REVERIFY_DAYS = 7
    old = timezone.now() - timedelta(days=8)
    due = HostFactory(status=Host.Status.OPEN_RELAY, last_probed_at=old)
    HostFactory(status=Host.Status.OPEN_RELAY, last_probed_at=timezone.now())
    HostFactory(status=Host.Status.NOT_RELAY, last_probed_at=old)
    assert selectors.open_relays_due() == [due.id]


def test_it_probes_only_the_hosts_the_admin_user_may_see(
    lab_hosts, client, django_capture_on_commit_callbacks, eager_tasks
):
    from django.contrib.auth.models import Permission

    from tests.factories import AgencyFactory, MembershipFactory

    mine, theirs = AgencyFactory(), AgencyFactory()
    [(host, _)] = lab_hosts(["open"], agency=mine)
    [(other, other_lab)] = lab_hosts(["open"], agency=theirs)
    membership = MembershipFactory(agency=mine, role="coordinator")
    membership.user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_host", "change_host"])
    )
    client.force_login(membership.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/outreach/host/",
            {"action": "verify_now", "_selected_action": [host.id, other.id]},
            follow=True,
        )
    assert "1 host(s) sent to the probe." in response.content.decode()
    assert list(Probe.objects.values_list("host_id", flat=True)) == [host.id]
    assert other_lab.connections == 0


def test_it_finds_a_known_host_however_its_address_is_spelt(lab_hosts):
    lab_hosts(["closed"], ip="2001:db8::5")
    out = StringIO()
    call_command("verify_relays", "--ip", "2001:DB8:0::5", "--json", stdout=out)
    assert json_lines(out)[0]["verdict"] == smtp.NOT_RELAY


@pytest.mark.django_db
def test_a_verification_run_resends_what_the_broker_lost(monkeypatch):
    from django.utils import timezone

    from probes import verify_run

    hosts = [HostFactory(ip=f"198.51.100.{n}") for n in range(1, 5)]
    calls = []

    def enqueue(*, host_ids, port, all_tests):
        calls.append(sorted(host_ids))
        if len(calls) > 1:  # the first batches vanish with the broker
            Host.objects.filter(id__in=host_ids).update(
                last_verdict="not_relay", last_probed_at=timezone.now()
            )

    monkeypatch.setattr(verify_run, "hosts_verify_enqueue", enqueue)
    result = verify_run.hosts_verify_run(
        host_ids=[h.id for h in hosts], stall_seconds=0.2, poll_seconds=0.05
    )
    assert result == {"verified": 4, "missing": 0, "resent": 1}
    assert calls == [sorted(h.id for h in hosts)] * 2
