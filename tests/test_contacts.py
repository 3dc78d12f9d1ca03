"""probes.contacts: the network cache, contacts, fallbacks, routing, limits."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from lab.asn_dns import AsnDnsServer, Origin
from lab.rdap import RdapSimulator, generated_answer, recorded_answers
from outreach.celery import app
from outreach.lib import bucket
from outreach.models import Contact, Host, Network
from probes import contacts, flight, pacing
from probes.contacts import contact_fallback, contacts_lookup, network_resolve
from probes.pacing import Pacer
from probes.tasks_rdap import LookupDeferred, campaign_contacts_lookup, contacts_lookup_batch
from tests.command_io import bar_drawn, run_command
from tests.factories import AgencyFactory, CampaignFactory, ContactFactory, HostFactory

ANSWERS = recorded_answers()
LAB_NETWORKS = ["198.51.100.0/24", "2001:db8::/32"]
# What the lookup says of BT's relay, in the service's rows and the command's JSON.
BT_ROW = {
    "ip": "62.239.237.1",
    "network": "62.239.237.0/24",
    "contact": "zzdnsr@bt.com",
    "rule": "abuse_role",
    "confidence": 0.95,
    "agency": "ico",
}
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rdap_settings(settings):
    settings.RDAP_RATE_LIMITS = {"bootstrap": (1000.0, 1000.0)}
    settings.RDAP_ALLOWED_NETWORKS = LAB_NETWORKS
    settings.RDAP_NATIONAL_CONTACTS = {}
    settings.RDAP_AGENCY_ROUTES = {}
    settings.RDAP_ASN_DNS = ""
    bucket.buckets_reset()
    yield
    bucket.buckets_reset()


@pytest.fixture
def sim(settings):
    with RdapSimulator(answers=ANSWERS, generate=generated_answer) as simulator:
        settings.RDAP_BASE_URL = simulator.base_url
        yield simulator


@pytest.fixture
def campaign():
    lead = AgencyFactory(code="lead", country="US", jurisdiction=["US"])
    ico = AgencyFactory(code="ico", country="GB", jurisdiction=["GB"])
    kcc = AgencyFactory(code="kcc", country="KR", jurisdiction=["KR"])
    campaign = CampaignFactory(lead_agency=lead, status="active")
    campaign.partners.set([ico, kcc])
    return campaign


def host(ip: str, campaign=None, **kwargs) -> Host:
    h = HostFactory(ip=ip, **kwargs)
    if campaign is not None:
        campaign.hosts.add(h)
    return h


# --- Cache ----------------------------------------------------------------


def test_it_answers_later_hosts_inside_a_cached_network_without_a_query(sim, campaign):
    hosts = [host(ip, campaign) for ip in ("74.125.225.229", "74.125.1.1", "74.125.200.9")]
    contacts_lookup(host_ids=[h.id for h in hosts])
    later = host("74.125.7.7", campaign)
    contacts_lookup(host_ids=[later.id])
    assert sim.requests == 1
    later.refresh_from_db()
    assert later.network.cidr == "74.125.0.0/16"
    assert later.contact.email == "arin-contact@google.com"


def test_it_asks_again_when_the_cached_network_is_stale(sim, settings):
    network_resolve(ip="62.239.237.1")
    Network.objects.update(fetched_at=timezone.now() - dt.timedelta(days=31))
    network_resolve(ip="62.239.237.9")
    assert sim.requests == 2
    assert Network.objects.count() == 1


def test_it_keeps_the_network_record_the_brief_asks_for(sim):
    network = network_resolve(ip="62.239.237.1")
    assert (network.cidr, network.handle, network.registry, network.country) == (
        "62.239.237.0/24",
        "62.239.237.0 - 62.239.237.255",
        "ripe",
        "GB",
    )
    assert network.abuse_emails[0] == "zzdnsr@bt.com"
    assert network.postal_address.startswith("British Telecommunications")
    assert network.raw_rdap["handle"] == network.handle
    assert network.contact_candidates[0] == {
        "email": "zzdnsr@bt.com",
        "rule": "abuse_role",
        "confidence": 0.95,
        # Provenance: which source said it, and when.
        "source": "rdap:ripe",
        "data_date": timezone.now().date().isoformat(),
    }


def test_it_uses_the_most_specific_cached_network(sim):
    fresh = timezone.now()
    Network.objects.create(cidr="198.51.100.0/24", country="US", fetched_at=fresh)
    Network.objects.create(cidr="198.51.100.64/26", country="GB", fetched_at=fresh)
    Network.objects.create(cidr="198.51.100.80/28", country="FR", fetched_at=fresh)
    hosts = [host(ip) for ip in ("198.51.100.1", "198.51.100.70", "198.51.100.81")]
    rows = contacts_lookup(host_ids=[h.id for h in hosts])
    assert [r["network"] for r in rows] == [
        "198.51.100.0/24",
        "198.51.100.64/26",
        "198.51.100.80/28",
    ]
    assert sim.requests == 0


def test_a_busy_block_is_put_off_rather_than_waited_for(sim):
    with flight.single_flight("62.239.0.0/16"), pytest.raises(flight.FlightBusy):
        network_resolve(ip="62.239.237.1", wait=False)
    assert sim.requests == 0
    assert network_resolve(ip="62.239.237.1", wait=False).cidr == "62.239.237.0/24"


def test_it_takes_the_networks_asn_from_the_feeds_when_rdap_has_none(sim):
    hosts = [host("62.239.237.1", asn=2856), host("62.239.237.2", asn=2856), host("62.239.237.3")]
    contacts_lookup(host_ids=[h.id for h in hosts])
    assert Network.objects.get(cidr="62.239.237.0/24").asn == 2856


def test_it_asks_the_asn_dns_for_the_origin_as_and_its_name(sim, settings):
    origin = Origin(64500, "62.239.237.0/24", "GB", "ripencc", "LAB-AS <b>BT</b>")
    with AsnDnsServer(lambda ip: origin if ip.startswith("62.239.") else None) as dns_server:
        settings.RDAP_ASN_DNS = dns_server.address
        network = network_resolve(ip="62.239.237.1")
        assert (network.asn, network.as_name) == (64500, "LAB-AS <b>BT</b>")
        # No answer is no ASN, never an error.
        assert network_resolve(ip="200.57.141.161").asn is None
    assert dns_server.queries[0] == "1.237.239.62.origin.asn.cymru.com."


def test_a_lock_that_stays_taken_defers_the_host_instead_of_failing(sim, monkeypatch):
    @contextlib.contextmanager
    def always_busy(key, **kwargs):
        raise flight.FlightBusy(key)
        yield  # pragma: no cover

    monkeypatch.setattr(contacts, "single_flight", always_busy)
    [row] = contacts_lookup(host_ids=[host("62.239.237.1").id])
    assert (row["retry"], row["error"]) == (True, "another worker is still asking")
    assert sim.requests == 0


# --- Contract: what every host gets ------------------------------------------


def test_it_sets_network_contact_rule_confidence_and_agency_on_each_host(sim, campaign):
    relay = host("62.239.237.1", campaign)
    rows = contacts_lookup(host_ids=[relay.id])
    relay.refresh_from_db()
    assert relay.network.cidr == "62.239.237.0/24"
    assert relay.contact.email == "zzdnsr@bt.com"
    assert (relay.contact_rule, relay.contact_confidence) == ("abuse_role", 0.95)
    assert relay.agency.code == "ico"
    assert (relay.contact.agency.code, relay.contact.country) == ("ico", "GB")
    assert relay.network.agency.code == "ico"
    assert rows == [{"host_id": relay.id, **BT_ROW, "error": ""}]


def test_it_gathers_the_hosts_of_several_networks_under_one_contact(sim, campaign):
    # Both BT networks name the same abuse desk, spelled the same once normalised.
    ContactFactory(email="ZZDNSR@BT.COM", country="GB")
    hosts = [host("62.239.237.1", campaign), host("2a00:2381:ffff::1", campaign)]
    contacts_lookup(host_ids=[h.id for h in hosts])
    contact = Contact.objects.get(email="zzdnsr@bt.com")
    assert sorted(contact.hosts.values_list("ip", flat=True)) == [
        "2a00:2381:ffff::1",
        "62.239.237.1",
    ]
    assert Contact.objects.count() == 1


# --- Routing --------------------------------------------------------------


def test_it_routes_to_the_agency_whose_jurisdiction_covers_the_country(sim, campaign):
    korean = host("210.107.73.73", campaign)
    contacts_lookup(host_ids=[korean.id])
    korean.refresh_from_db()
    assert (korean.contact.email, korean.agency.code) == ("abuse@bora.net", "kcc")


def test_it_routes_unmatched_countries_to_the_lead_agency(sim, campaign):
    mexican = host("200.57.141.161", campaign)
    contacts_lookup(host_ids=[mexican.id])
    mexican.refresh_from_db()
    assert mexican.agency.code == "lead"
    assert mexican.contact.agency.code == "lead"


def test_it_follows_a_configured_route_before_the_jurisdictions(sim, campaign, settings):
    settings.RDAP_AGENCY_ROUTES = {"MX": "kcc"}
    mexican = host("200.57.141.161", campaign)
    contacts_lookup(host_ids=[mexican.id])
    mexican.refresh_from_db()
    assert mexican.agency.code == "kcc"


# --- The chain and do-not-contact -------------------------------------------


def test_it_skips_a_do_not_contact_address_for_the_next_candidate(sim, campaign):
    ContactFactory(email="abuse@bora.net", do_not_contact=True)
    korean = host("210.107.73.73", campaign)
    contacts_lookup(host_ids=[korean.id])
    korean.refresh_from_db()
    assert (korean.contact.email, korean.contact_rule) == ("ipadm@nic.bora.net", "registrant")


def test_it_falls_back_to_the_ptr_domain_then_the_national_contact(sim, campaign, settings):
    settings.RDAP_NATIONAL_CONTACTS = {"JP": "incident@cert.example"}
    japanese = host("2001:240:10c:1::ca20:9d1d", campaign, ptr="mail.shop.example")
    contacts_lookup(host_ids=[japanese.id])
    japanese.refresh_from_db()
    assert (japanese.contact.email, japanese.contact_rule) == ("abuse@shop.example", "ptr_rfc2142")
    assert japanese.contact_confidence == 0.3

    assert contact_fallback(contact_id=japanese.contact_id).email == "incident@cert.example"
    japanese.refresh_from_db()
    assert (japanese.contact_rule, japanese.contact_confidence) == ("national", 0.2)


def test_it_never_gives_a_contact_to_a_host_in_a_never_contact_network(sim, campaign, settings):
    settings.NEVER_CONTACT_NETWORKS = ["62.239.237.0/25"]
    inside, outside = host("62.239.237.1", campaign), host("62.239.237.200", campaign)
    rows = {r["ip"]: r for r in contacts_lookup(host_ids=[inside.id, outside.id])}
    assert (rows["62.239.237.1"]["contact"], rows["62.239.237.1"]["rule"]) == (None, "")
    assert rows["62.239.237.200"]["contact"] == "zzdnsr@bt.com"


def test_it_leaves_a_host_without_contact_when_no_rule_finds_one(sim, campaign):
    japanese = host("2001:240:10c:1::ca20:9d1d", campaign)
    [row] = contacts_lookup(host_ids=[japanese.id])
    japanese.refresh_from_db()
    assert (row["contact"], japanese.contact, japanese.network.country) == (None, None, "JP")
    assert japanese.agency.code == "lead"


def test_contact_fallback_moves_the_hosts_to_the_next_contact_of_the_chain(sim, campaign):
    hosts = [host("210.107.73.73", campaign), host("210.107.1.2", campaign)]
    contacts_lookup(host_ids=[h.id for h in hosts])
    bounced = Contact.objects.get(email="abuse@bora.net")
    nxt = contact_fallback(contact_id=bounced.id)
    assert nxt.email == "ipadm@nic.bora.net"
    assert set(nxt.hosts.values_list("ip", flat=True)) == {"210.107.73.73", "210.107.1.2"}
    assert not bounced.hosts.exists()
    assert contact_fallback(contact_id=nxt.id).email == "security@bora.net"


def test_contact_fallback_returns_none_when_the_chain_is_exhausted(sim, campaign):
    relay = host("200.57.141.161", campaign)
    contacts_lookup(host_ids=[relay.id])
    only = Contact.objects.get(email="operacion.redes@triara.com")
    assert contact_fallback(contact_id=only.id) is None
    relay.refresh_from_db()
    assert relay.contact_id == only.id
    assert contact_fallback(contact_id=999_999) is None


# --- Registry limits ------------------------------------------------------


def test_it_defers_hosts_when_the_registry_answers_429_and_keeps_going(settings, campaign):
    with RdapSimulator(answers=ANSWERS, fail_every=2) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        hosts = [host(ip, campaign) for ip in ("62.239.237.1", "74.125.225.229", "74.125.9.9")]
        rows = {r["ip"]: r for r in contacts_lookup(host_ids=[h.id for h in hosts])}
    assert rows["62.239.237.1"]["contact"] == "zzdnsr@bt.com"
    # The 429 defers the whole block: the second host of it was not asked for.
    assert rows["74.125.225.229"]["retry"] and rows["74.125.9.9"]["retry"]
    assert "rate-limited" in rows["74.125.9.9"]["error"]
    assert sim.requests == 2
    assert Host.objects.get(ip="74.125.9.9").network is None


def test_the_token_bucket_refuses_before_anything_is_sent(sim, settings, campaign):
    # The shipped bootstrap files place both in RIPE: no bootstrap request,
    # the registry's own bucket decides.
    settings.RDAP_RATE_LIMITS = {"ripe": (1.0, 0.001)}
    bucket.buckets_reset()
    hosts = [host(ip, campaign) for ip in ("62.239.237.1", "2a00:2381:ffff::1")]
    rows = {r["ip"]: r for r in contacts_lookup(host_ids=[h.id for h in hosts])}
    assert rows["62.239.237.1"]["contact"] == "zzdnsr@bt.com"
    assert rows["2a00:2381:ffff::1"]["error"] == "local limit for ripe reached"
    assert sim.requests == 1
    assert sim.paths == ["/ip/62.239.237.1"]


def test_it_never_fails_the_caller_when_the_registry_is_down(settings, campaign):
    with RdapSimulator() as sim:
        settings.RDAP_BASE_URL = sim.base_url
    relay = host("62.239.237.1", campaign)
    settings.RDAP_TIMEOUT = 2
    [row] = contacts_lookup(host_ids=[relay.id])
    assert row["retry"] is True
    assert "could not be reached" in row["error"]


def test_the_bucket_refills_at_its_rate():
    assert bucket.bucket_take("unit-test", capacity=2, per_second=0.0001) == 0.0
    assert bucket.bucket_take("unit-test", capacity=2, per_second=0.0001) == 0.0
    assert bucket.bucket_take("unit-test", capacity=2, per_second=0.0001) > 1000


@pytest.mark.redis
def test_the_bucket_and_the_lock_live_in_redis_when_it_is_configured(settings, redis_url):
    settings.REDIS_URL = redis_url
    bucket.buckets_reset()
    assert bucket.bucket_take("redis-test", capacity=1, per_second=0.0001) == 0.0
    assert bucket.bucket_take("redis-test", capacity=1, per_second=0.0001) > 1000
    client = bucket.redis_client()
    assert client.exists("outreach:rdap:bucket:redis-test")
    with flight.single_flight("203.0.113.0/24", timeout=5):
        assert client.exists("outreach:rdap:flight:203.0.113.0/24")
    assert not client.exists("outreach:rdap:flight:203.0.113.0/24")
    bucket.buckets_reset()


def test_single_flight_makes_the_second_caller_wait_for_the_first():
    order = []
    inside = threading.Event()

    def first():
        with flight.single_flight("198.51.0.0/16"):
            inside.set()
            order.append("first in")
            threading.Event().wait(0.2)
            order.append("first out")

    worker = threading.Thread(target=first)
    worker.start()
    inside.wait(5)
    with flight.single_flight("198.51.0.0/16"):
        order.append("second in")
    worker.join()
    assert order == ["first in", "first out", "second in"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_ask_for_one_network_at_once(postgres_url, settings):
    with RdapSimulator(generate=generated_answer, latency=0.2) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        ips = [f"2001:db8:0:{i:x}::1" for i in range(1, 7)]  # one generated /48

        def work(ip):
            from django.db import connection

            try:
                network_resolve(ip=ip)
            finally:
                connection.close()

        threads = [threading.Thread(target=work, args=(ip,)) for ip in ips]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sim.requests == 1
    assert sim.duplicate_in_flight() == 0
    assert Network.objects.get().cidr == "2001:db8::/48"


# --- Command and tasks --------------------------------------------------------


def test_the_command_prints_one_json_object_per_host(sim, campaign, capsys):
    call_command("lookup_contacts", "--ip", "62.239.237.1", "210.107.73.73", "--json")
    lines = capsys.readouterr().out.splitlines()
    # JSON Lines, like verify_relays: one complete object per line, then the summary.
    *rows, summary = [json.loads(line) for line in lines]
    assert summary == {"summary": True, "hosts": 2, "waiting": 0}
    assert rows == [
        BT_ROW,
        {
            "ip": "210.107.73.73",
            "network": "210.107.0.0/17",
            "contact": "abuse@bora.net",
            "rule": "remark",
            "confidence": 0.8,
            "agency": "kcc",
        },
    ]


def test_the_command_streams_valid_json_across_batches(sim, campaign, capsys, monkeypatch):
    from probes.management.commands import lookup_contacts

    monkeypatch.setattr(lookup_contacts, "BATCH", 1)
    for ip in ("62.239.237.1", "62.239.237.2", "200.57.141.161"):
        host(ip, campaign, status=Host.Status.OPEN_RELAY)
    call_command("lookup_contacts", "--campaign", campaign.slug, "--json")
    *rows, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert summary == {"summary": True, "hosts": 3, "waiting": 0}
    # Address order on PostgreSQL (inet), text order on SQLite.
    assert sorted((r["ip"], r["contact"]) for r in rows) == [
        ("200.57.141.161", "operacion.redes@triara.com"),
        ("62.239.237.1", "zzdnsr@bt.com"),
        ("62.239.237.2", "zzdnsr@bt.com"),
    ]
    assert sim.requests == 2


def test_the_command_looks_up_a_campaigns_verified_relays(sim, campaign, capsys):
    host("62.239.237.1", campaign, status=Host.Status.OPEN_RELAY)
    host("200.57.141.161", campaign, status=Host.Status.NOT_RELAY)
    call_command("lookup_contacts", "--campaign", campaign.slug)
    out = capsys.readouterr().out
    assert "62.239.237.1  62.239.237.0/24  zzdnsr@bt.com  abuse_role 0.95  ico" in out
    assert "200.57.141.161" not in out
    assert "1 hosts, 0 waiting for a registry." in out


def test_the_command_shows_progress_on_a_terminal_only(sim, campaign):
    args = ("lookup_contacts", "--ip", "62.239.237.1", "210.107.73.73")
    out, err = run_command(*args, tty=True)
    assert bar_drawn(err) and "2/2" in err and "requests left" in err
    assert "2 hosts, 0 waiting for a registry." in out and not bar_drawn(out)
    assert not bar_drawn(run_command(*args)[1])
    assert not bar_drawn(run_command(*args, "--json", tty=True)[1])


# --- Pacing (the in-process command waits; it does not give up) -------------

LACNIC_IPS = ("177.1.1.1", "177.2.1.1", "177.3.1.1")


def test_the_command_paces_through_a_local_limit_instead_of_reporting_hosts_waiting(
    sim, settings, capsys
):
    # One token, refilled in a quarter second: the run must wait twice.
    settings.RDAP_RATE_LIMITS = {"lacnic": (1.0, 4.0)}
    bucket.buckets_reset()
    call_command("lookup_contacts", "--ip", *LACNIC_IPS)
    out = capsys.readouterr().out
    assert "3 hosts, 0 waiting for a registry." in out
    assert Host.objects.filter(ip__in=LACNIC_IPS, contact__isnull=False).count() == 3
    assert sim.requests == 3


def test_the_command_reports_hosts_waiting_with_no_wait(sim, settings, capsys):
    settings.RDAP_RATE_LIMITS = {"lacnic": (1.0, 0.001)}
    bucket.buckets_reset()
    call_command("lookup_contacts", "--ip", *LACNIC_IPS, "--no-wait", "--json")
    *rows, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert summary == {"summary": True, "hosts": 3, "waiting": 2}
    assert [r.get("error", "") for r in rows].count("local limit for lacnic reached") == 2
    assert sim.requests == 1


def test_the_command_reports_hosts_waiting_when_the_registry_is_down(settings, capsys):
    with RdapSimulator() as sim:
        settings.RDAP_BASE_URL = sim.base_url
    settings.RDAP_TIMEOUT = 2
    call_command("lookup_contacts", "--ip", "62.239.237.1")
    assert "1 hosts, 1 waiting for a registry." in capsys.readouterr().out


def test_a_pacer_waits_as_long_as_the_registrys_retry_after_and_asks_again(settings, campaign):
    # Local buckets too large to matter: every sleep is the registry's.
    settings.RDAP_RATE_LIMITS = {"ripe": (1e6, 1e6), "arin": (1e6, 1e6)}
    sleeps: list[float] = []
    with RdapSimulator(answers=ANSWERS, fail_every=2) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        hosts = [host(ip, campaign) for ip in ("62.239.237.1", "74.125.225.229")]
        pacer = Pacer(sleep=sleeps.append)
        rows = contacts_lookup(host_ids=[h.id for h in hosts], pacer=pacer)
    assert [r["contact"] for r in rows] == ["zzdnsr@bt.com", "arin-contact@google.com"]
    assert sleeps == [1.0]  # the simulator's Retry-After
    assert (sim.requests, sim.rate_limited) == (3, 1)
    assert pacer.sent == {"ripe": 1, "arin": 2}


def test_a_pacer_gives_up_on_a_registry_that_keeps_answering_429(settings, campaign):
    settings.RDAP_RATE_LIMITS = {"ripe": (1e6, 1e6)}
    sleeps: list[float] = []
    with RdapSimulator(answers=ANSWERS, fail_every=1) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        relay = host("62.239.237.1", campaign)
        [row] = contacts_lookup(host_ids=[relay.id], pacer=Pacer(sleep=sleeps.append))
    assert row["retry"] is True and "rate-limited" in row["error"]
    assert sleeps == [1.0] * pacing.MAX_REMOTE_WAITS


def test_the_progress_bar_shows_requests_left_per_registry_and_an_eta(settings):
    from tqdm import tqdm

    from probes.management.commands.lookup_contacts import Progress

    settings.RDAP_RATE_LIMITS = {"lacnic": (6.0, 0.1), "ripe": (10.0, 10.0)}
    hosts = [host(ip) for ip in (*LACNIC_IPS, "62.239.237.1")]
    progress = Progress([h.id for h in hosts], bar=tqdm(disable=True))
    pacer = Pacer()
    pacer.sent_one("lacnic")
    progress.advance({"ip": "177.1.1.1"}, pacer)
    # Two LACNIC hosts left at one request per host, 10 s apart; one RIPE host.
    assert progress.summary(pacer) == "requests left: lacnic 2, ripe 1; ETA 0 min"
    assert pacing.eta_seconds(
        left=progress.left, sent=pacer.sent, done=progress.done, rates=settings.RDAP_RATE_LIMITS
    ) == pytest.approx(20.0)


def test_the_eta_follows_the_slowest_registry_and_the_requests_per_host():
    left = {"lacnic": 60, "ripe": 1000}
    sent, done = {"lacnic": 10, "ripe": 10}, {"lacnic": 20, "ripe": 100}
    rates = {"lacnic": (6.0, 0.1), "ripe": (10.0, 10.0)}
    assert pacing.requests_left(left=left, sent=sent, done=done) == {"lacnic": 30, "ripe": 100}
    assert pacing.eta_seconds(left=left, sent=sent, done=done, rates=rates) == 300.0


def test_the_command_refuses_a_bad_address_and_an_unknown_campaign(sim):
    with pytest.raises(CommandError, match="is not an IP address"):
        call_command("lookup_contacts", "--ip", "62.239.237.1\r\nx")
    with pytest.raises(CommandError, match="No campaign"):
        call_command("lookup_contacts", "--campaign", "nope")


def test_the_tasks_look_up_a_campaign_in_batches(
    sim, campaign, django_capture_on_commit_callbacks, eager_tasks
):
    relay = host("62.239.237.1", campaign, status=Host.Status.OPEN_RELAY)
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_contacts_lookup(campaign.id) == 1
    relay.refresh_from_db()
    assert relay.contact.email == "zzdnsr@bt.com"
    assert campaign_contacts_lookup(999_999) == 0


def test_the_batch_task_reports_hosts_that_wait(settings, campaign):
    with RdapSimulator(answers=ANSWERS, fail_every=1) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        relay = host("62.239.237.1", campaign)
        result = contacts_lookup_batch.apply(args=[[relay.id]]).get()
    assert result == {"hosts": 1, "deferred": 1}


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_batch_task(redis_url, settings, campaign):
    from celery.contrib.testing.worker import start_worker

    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    with RdapSimulator(answers=ANSWERS) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        relay = host("62.239.237.1", campaign)
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            result = contacts_lookup_batch.delay([relay.id], campaign.id)
            assert result.get(timeout=30) == {"hosts": 1, "deferred": 0}
    relay.refresh_from_db()
    assert (relay.contact.email, relay.agency.code) == ("zzdnsr@bt.com", "ico")


def test_a_worker_retries_the_batch_with_backoff_while_hosts_wait(settings, campaign):
    with RdapSimulator(answers=ANSWERS, fail_every=1) as sim:
        settings.RDAP_BASE_URL = sim.base_url
        relay = host("62.239.237.1", campaign)
        # Called as a worker calls it (not eager): the waiting host raises
        # the exception the task's autoretry backs off on.
        with pytest.raises(LookupDeferred, match="1 hosts wait for a registry"):
            contacts_lookup_batch([relay.id])
    assert LookupDeferred in contacts_lookup_batch.autoretry_for
    assert contacts_lookup_batch.retry_backoff and contacts_lookup_batch.retry_jitter


def test_it_fills_each_hosts_country_and_asn_from_its_network_and_feed(sim):
    from_feed = host("62.239.237.1", asn=2856)
    bare = host("62.239.237.2")
    bare.country = ""
    bare.save(update_fields=["country"])
    contacts_lookup(host_ids=[from_feed.id, bare.id])
    from_feed.refresh_from_db()
    bare.refresh_from_db()
    # The registry names the network's country; the feed's origin AS is the host's own.
    assert (from_feed.country, from_feed.asn) == ("GB", 2856)
    assert (bare.country, bare.asn) == ("GB", 2856)
