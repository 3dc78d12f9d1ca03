"""Provenance: sources, agreement, disputes, and the investigator's choice."""

from __future__ import annotations

import datetime as dt

import pytest
from auditlog.models import LogEntry

from lab.abusix_dns import AbusixDnsServer
from lab.rdap import RdapSimulator, recorded_answers
from outreach.lib import bucket
from outreach.models import Host
from probes import contacts, provenance
from probes.contacts import contacts_lookup
from probes.disputes import DisputeError, contact_dispute_resolve
from probes.models import ContactDispute
from tests.factories import AgencyFactory, CampaignFactory, HostFactory

ANSWERS = recorded_answers()
TODAY = dt.date(2026, 12, 1)
pytestmark = pytest.mark.django_db


def test_a_second_source_naming_the_best_candidate_raises_its_confidence():
    chain = [{"email": "a@x.example", "rule": "abuse_role", "confidence": 0.95}]
    merged, disputed = provenance.chain_merge(chain, dns_emails=["a@x.example"], today=TODAY)
    assert not disputed
    assert merged == [
        {"email": "a@x.example", "rule": "abuse_role", "confidence": 0.99, "agrees": ["dns:abusix"]}
    ]


def test_a_second_source_naming_someone_else_is_a_dispute_and_a_later_candidate():
    chain = [{"email": "a@x.example", "rule": "abuse_role", "confidence": 0.95}]
    merged, disputed = provenance.chain_merge(chain, dns_emails=["b@x.example"], today=TODAY)
    assert disputed
    assert [c["email"] for c in merged] == ["a@x.example", "b@x.example"]
    assert merged[1] == {
        "email": "b@x.example",
        "rule": "dns_abusix",
        "confidence": 0.85,
        "source": "dns:abusix",
        "data_date": "2026-12-01",
    }


def test_no_answer_from_the_second_source_changes_nothing():
    chain = [{"email": "a@x.example", "rule": "abuse_role", "confidence": 0.95}]
    assert provenance.chain_merge(chain, dns_emails=[], today=TODAY) == (chain, False)


@pytest.fixture
def world(settings):
    settings.RDAP_RATE_LIMITS = {"ripe": (1e6, 1e6), "arin": (1e6, 1e6)}
    settings.RDAP_ASN_DNS = ""
    bucket.buckets_reset()
    zone = {"62.239.237.1": ["zzdnsr@bt.com"], "74.125.225.229": ["abuse@google.example"]}
    contacts._DNS_SOURCES.clear()
    with RdapSimulator(answers=ANSWERS) as sim, AbusixDnsServer(zone.get) as dns:
        settings.RDAP_BASE_URL = sim.base_url
        settings.CONTACT_DNS_RESOLVER = dns.address
        lead = AgencyFactory(code="lead", country="US", jurisdiction=["US"])
        campaign = CampaignFactory(lead_agency=lead, status="active")
        hosts = [HostFactory(ip=ip) for ip in zone]
        campaign.hosts.add(*hosts)
        yield hosts
    contacts._DNS_SOURCES.clear()


def test_every_candidate_records_its_source_date_and_rule_and_agreement(world):
    rows = {r["ip"]: r for r in contacts_lookup(host_ids=[h.id for h in world])}
    assert rows["62.239.237.1"]["contact"] == "zzdnsr@bt.com"
    assert rows["62.239.237.1"]["confidence"] == 0.99  # RDAP and DNS agree
    network = Host.objects.get(ip="62.239.237.1").network
    first = network.contact_candidates[0]
    assert (first["source"], first["rule"]) == ("rdap:ripe", "abuse_role")
    assert dt.date.fromisoformat(first["data_date"])


def test_a_disagreement_opens_one_dispute_and_the_letter_keeps_the_best_candidate(world):
    contacts_lookup(host_ids=[h.id for h in world])
    contacts_lookup(host_ids=[h.id for h in world])  # asked again: still one dispute
    dispute = ContactDispute.objects.get()
    assert dispute.network.cidr == "74.125.0.0/16" and dispute.ip == "74.125.225.229"
    assert [(c["email"], c["source"]) for c in dispute.candidates] == [
        ("arin-contact@google.com", "rdap:arin"),
        ("abuse@google.example", "dns:abusix"),
    ]
    assert Host.objects.get(ip="74.125.225.229").contact.email == "arin-contact@google.com"


def test_the_investigator_chooses_another_candidate_with_an_audit_entry(world, admin_user):
    contacts_lookup(host_ids=[h.id for h in world])
    dispute = ContactDispute.objects.get()
    moved = contact_dispute_resolve(
        dispute_id=dispute.id, email="abuse@google.example", actor=admin_user
    )
    assert moved == 1
    relay = Host.objects.get(ip="74.125.225.229")
    assert (relay.contact.email, relay.contact_rule) == ("abuse@google.example", "investigator")
    assert relay.network.contact_candidates[0]["email"] == "abuse@google.example"
    events = LogEntry.objects.filter(actor=admin_user).values_list(
        "additional_data__event", flat=True
    )
    assert sorted(events) == ["contact_chosen", "dispute_resolved"]
    dispute.refresh_from_db()
    assert (dispute.status, dispute.chosen_email) == ("resolved", "abuse@google.example")
    with pytest.raises(DisputeError, match="already resolved"):
        contact_dispute_resolve(dispute_id=dispute.id, email="x@y.example", actor=admin_user)


def test_a_choice_outside_the_candidates_is_refused(world, admin_user):
    contacts_lookup(host_ids=[h.id for h in world])
    dispute = ContactDispute.objects.get()
    with pytest.raises(DisputeError, match="not one of the candidates"):
        contact_dispute_resolve(dispute_id=dispute.id, email="evil@x.example", actor=admin_user)
    assert Host.objects.get(ip="74.125.225.229").contact.email == "arin-contact@google.com"


def test_the_admin_lists_contacts_in_dispute_and_takes_a_choice(world, admin_client):
    contacts_lookup(host_ids=[h.id for h in world])
    dispute = ContactDispute.objects.get()
    page = admin_client.get("/admin/probes/contactdispute/")
    assert page.status_code == 200
    assert b"74.125.0.0/16" in page.content and b"contacts in dispute" in page.content.lower()
    url = f"/admin/probes/contactdispute/{dispute.id}/change/"
    response = admin_client.post(url, {"choose": "abuse@google.example"})
    assert response.status_code == 302
    assert Host.objects.get(ip="74.125.225.229").contact.email == "abuse@google.example"


def test_rdap_settles_a_dns_disagreement_with_stale_bulk_data(settings, tmp_path):
    from probes.registry_dump import registry_dump_import

    dump = tmp_path / "ripe.db"
    dump.write_text(
        "inetnum: 198.51.100.0 - 198.51.100.255\norg: ORG-LIR\nmnt-by: RIPE-NCC-HM-MNT\n\n"
        "organisation: ORG-LIR\nabuse-c: LIR-AB\n\n"
        "role: LIR\nnic-hdl: LIR-AB\nabuse-mailbox: abuse@lir.example\n"
    )
    registry_dump_import(paths=[str(dump)], registry="ripe")
    card = ["vcard", [["version", {}, "text", "4.0"], ["email", {}, "text", "abuse@new.example"]]]
    answer = {
        "objectClassName": "ip network",
        "handle": "NEW-ASSIGNMENT",
        "ipVersion": "v4",
        "name": "NEW",
        "port43": "whois.ripe.net",
        "startAddress": "198.51.100.0",
        "endAddress": "198.51.100.63",
        "entities": [{"handle": "NEW-AB", "roles": ["abuse"], "vcardArray": card}],
    }
    settings.RDAP_ALLOWED_NETWORKS = ["198.51.100.0/24"]
    settings.RDAP_RATE_LIMITS = {"arin": (1e6, 1e6)}
    bucket.buckets_reset()
    contacts._DNS_SOURCES.clear()
    zone = {"198.51.100.7": ["abuse@new.example"]}
    with RdapSimulator(answers={"198.51.100.7": answer}) as sim, AbusixDnsServer(zone.get) as dns:
        settings.RDAP_BASE_URL = sim.base_url
        settings.CONTACT_DNS_RESOLVER = dns.address
        relay = HostFactory(ip="198.51.100.7")
        [row] = contacts_lookup(host_ids=[relay.id])
    contacts._DNS_SOURCES.clear()
    assert (row["network"], row["contact"], row["rule"]) == (
        "198.51.100.0/26",
        "abuse@new.example",
        "abuse_role",
    )
    assert sim.requests == 1
    assert not ContactDispute.objects.exists()
