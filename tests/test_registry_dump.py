"""probes.registry_dump: importing RPSL dumps, each registry's abuse rules, versions.

Real-format samples come from RIPE NCC's whois test data (tests/fixtures/rpsl,
BSD-3); the rule cases are small dumps written here in the same format, with
documentation addresses and .example mailboxes.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from outreach.models import Network
from probes import registry_dump
from probes.models import RegistryDataset, RegistryPrefix
from probes.registry_dump import DumpError, registry_contact, registry_dump_import
from tests.command_io import bar_drawn, run_command

FIXTURES = Path(__file__).parent / "fixtures" / "rpsl"
pytestmark = pytest.mark.django_db

RIPE_DUMP = """\
# RIPE-style test dump (split files merged)

inetnum:        0.0.0.0 - 255.255.255.255
netname:        IANA-BLK
abuse-c:        RIPE-NCC-AB
mnt-by:         RIPE-NCC-HM-MNT
source:         RIPE

role:           RIPE NCC abuse
nic-hdl:        RIPE-NCC-AB
abuse-mailbox:  abuse@registry-top.example
source:         RIPE

inetnum:        198.51.100.0 - 198.51.100.255
netname:        LIR-ALLOCATION
country:        nl
org:            ORG-LIR1-RIPE
status:         ALLOCATED PA
mnt-by:         RIPE-NCC-HM-MNT
mnt-by:         LIR-MNT
source:         RIPE

organisation:   ORG-LIR1-RIPE
org-name:       An LIR
abuse-c:        LIR-AB
source:         RIPE

role:           LIR abuse desk
nic-hdl:        LIR-AB
abuse-mailbox:  abuse@lir.example
source:         RIPE

inetnum:        198.51.100.0 - 198.51.100.63
netname:        CUSTOMER-OWN
abuse-c:        CUST-AB
org:            ORG-LIR1-RIPE
mnt-by:         LIR-MNT
source:         RIPE

role:           Customer abuse
nic-hdl:        CUST-AB
abuse-mailbox:  Abuse@Customer.example
source:         RIPE

inetnum:        198.51.100.64 - 198.51.100.127
netname:        CUSTOMER-ORG
org:            ORG-CUST2-RIPE
mnt-by:         LIR-MNT
source:         RIPE

organisation:   ORG-CUST2-RIPE
abuse-c:        CUST2-AB
source:         RIPE

role:           Customer 2 abuse
nic-hdl:        CUST2-AB
abuse-mailbox:  abuse@customer2.example
source:         RIPE

inetnum:        198.51.100.128 - 198.51.100.191
netname:        CUSTOMER-NOTHING
mnt-by:         LIR-MNT
source:         RIPE

inetnum:        198.51.100.192 - 198.51.100.255
netname:        CUSTOMER-DUMMIFIED
abuse-c:        DUMY-AB
mnt-by:         LIR-MNT
source:         RIPE

role:           Placeholder
nic-hdl:        DUMY-AB
abuse-mailbox:  unread@ripe.net
source:         RIPE

inetnum:        203.0.113.0 - 203.0.113.255
netname:        RS-KEPT-BLOCK
mnt-by:         RIPE-NCC-HM-MNT
source:         RIPE

inetnum:        203.0.113.0 - 203.0.113.127
netname:        BELOW-RS-BLOCK
mnt-by:         SOME-MNT
source:         RIPE

inet6num:       2001:db8::/32
netname:        V6-ALLOC
abuse-c:        LIR-AB
mnt-by:         RIPE-NCC-HM-MNT
source:         RIPE
"""

APNIC_DUMP = """\
irt:            IRT-EXAMPLE-AP
abuse-mailbox:  irt-abuse@isp.example
source:         APNIC

role:           ISP role
nic-hdl:        ISP1-AP
abuse-mailbox:  role-abuse@isp.example
source:         APNIC

inetnum:        192.0.2.0 - 192.0.2.255
netname:        ISP-NET
mnt-irt:        IRT-EXAMPLE-AP
abuse-c:        ISP1-AP
mnt-by:         MAINT-ISP
source:         APNIC

inetnum:        192.0.2.0 - 192.0.2.15
netname:        ISP-CUSTOMER
abuse-c:        ISP1-AP
mnt-by:         MAINT-ISP
source:         APNIC
"""


def dump(tmp_path: Path, text: str, name: str = "test.db", *, gz: bool = False) -> str:
    path = tmp_path / (name + (".gz" if gz else ""))
    data = text.encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return str(path)


@pytest.fixture
def ripe(tmp_path):
    return registry_dump_import(paths=[dump(tmp_path, RIPE_DUMP)], registry="ripe", serial="42")


# --- RIPE's rule ---------------------------------------------------------------


def test_it_takes_the_objects_own_abuse_c_before_its_organisations(ripe):
    answer = registry_contact(ip="198.51.100.10")
    assert (answer.cidr, answer.email, answer.rule) == (
        "198.51.100.0/26",
        "abuse@customer.example",
        "abuse-c",
    )
    assert (answer.registry, answer.serial, answer.answered_by) == (
        "ripe",
        "42",
        "198.51.100.0 - 198.51.100.63",
    )


def test_it_takes_the_organisations_abuse_c_when_the_object_has_none(ripe):
    answer = registry_contact(ip="198.51.100.70")
    assert (answer.email, answer.rule) == ("abuse@customer2.example", "org-abuse-c")


def test_it_inherits_the_covering_objects_contact(ripe):
    answer = registry_contact(ip="198.51.100.130")
    assert answer.cidr == "198.51.100.128/26"  # the most specific prefix
    assert (answer.email, answer.rule) == ("abuse@lir.example", "covering")
    assert answer.answered_by == "198.51.100.0 - 198.51.100.255"
    assert answer.country == "NL"  # from the covering allocation


def test_it_refuses_a_dummified_placeholder_and_inherits_instead(ripe):
    answer = registry_contact(ip="198.51.100.200")
    assert answer.email == "abuse@lir.example"
    row = RegistryPrefix.objects.get(netname="CUSTOMER-DUMMIFIED")
    assert row.abuse_email == ""
    assert "registry placeholder address (ripe.net)" in row.refused


def test_it_stops_at_a_block_the_registry_maintains(ripe):
    # Neither the assignment nor the RS-kept block names anyone: RIPE's own
    # top-level contact is never inherited.
    answer = registry_contact(ip="203.0.113.5")
    assert answer.cidr == "203.0.113.0/25"
    assert answer.email == ""


def test_it_reads_inet6num_objects(ripe):
    assert registry_contact(ip="2001:db8::1").email == "abuse@lir.example"


def test_it_answers_none_outside_every_imported_prefix(tmp_path):
    registry_dump_import(paths=[dump(tmp_path, APNIC_DUMP)], registry="apnic")
    assert registry_contact(ip="198.51.100.1") is None


# --- APNIC's rule ---------------------------------------------------------------


def test_apnic_takes_the_irt_before_the_abuse_c(tmp_path):
    registry_dump_import(paths=[dump(tmp_path, APNIC_DUMP, gz=True)], registry="apnic")
    top = registry_contact(ip="192.0.2.100")
    assert (top.email, top.rule) == ("irt-abuse@isp.example", "mnt-irt")
    # The customer's own abuse-c is the most specific answer.
    customer = registry_contact(ip="192.0.2.1")
    assert (customer.cidr, customer.email, customer.rule) == (
        "192.0.2.0/28",
        "role-abuse@isp.example",
        "abuse-c",
    )


# --- Real-format samples ---------------------------------------------------------


def test_it_imports_ripes_test_dump_and_refuses_its_placeholder_mailboxes():
    dataset = registry_dump_import(paths=[str(FIXTURES / "ripe-TEST.db")], registry="ripe")
    assert dataset.figures["networks"] == 68 and dataset.figures["refused_objects"] == 0
    assert dataset.figures["refused_contacts"] == {"registry placeholder address (ripe.net)": 2}
    answer = registry_contact(ip="10.11.11.5")
    assert (answer.cidr, answer.netname, answer.email) == ("10.11.11.0/24", "Example-Network", "")


def test_it_reads_lacnics_abbreviated_prefixes_and_handles_without_addresses():
    registry_dump_import(paths=[str(FIXTURES / "lacnic.test")], registry="lacnic")
    v4 = registry_contact(ip="24.232.16.9")
    assert (v4.cidr, v4.country) == ("24.232.16.0/24", "AR")
    v6 = registry_contact(ip="2001:1200:2000::1")
    assert v6.email == ""
    assert v6.refused == "abuse-c IIM has no abuse-mailbox in the dump"


def test_it_cuts_afrinics_ranges_into_cidrs():
    dataset = registry_dump_import(paths=[str(FIXTURES / "afrinic.test.gz")], registry="afrinic")
    assert dataset.figures["networks"] == 2
    # 196.204.208.1 - .255 is eight CIDRs; 196.207.3.172 - .175 is one.
    assert dataset.figures["prefixes"] == 9
    answer = registry_contact(ip="196.204.208.200")
    assert (answer.cidr, answer.country) == ("196.204.208.128/25", "DK")


def test_it_counts_malformed_objects_with_their_line_and_keeps_the_rest(tmp_path):
    text = "inetnum: 192.0.2.0 - 192.0.2.255\nnot an attribute\n\n" + APNIC_DUMP
    dataset = registry_dump_import(paths=[dump(tmp_path, text)], registry="apnic")
    assert dataset.figures["refused_objects"] == 1
    assert dataset.figures["errors"] == ["test.db: line 2: not an attribute: 'not an attribute'"]
    assert registry_contact(ip="192.0.2.100").email == "irt-abuse@isp.example"


def test_it_refuses_a_range_it_cannot_read(tmp_path):
    text = "inetnum: 192.0.2.9 - 192.0.2.1\nnetname: BACKWARDS\n"
    dataset = registry_dump_import(paths=[dump(tmp_path, text)], registry="ripe")
    assert dataset.figures["refused_objects"] == 1
    assert "bad range" in dataset.figures["errors"][0]


# --- Versions ------------------------------------------------------------------------


def test_a_new_import_is_swapped_in_and_the_previous_version_removed(tmp_path, ripe):
    apnic = registry_dump_import(paths=[dump(tmp_path, APNIC_DUMP, "a.db")], registry="apnic")
    changed = RIPE_DUMP.replace("Abuse@Customer.example", "abuse@renamed.example")
    second = registry_dump_import(
        paths=[dump(tmp_path, changed, "b.db")], registry="ripe", serial="43"
    )
    ripe.refresh_from_db()
    assert ripe.status == RegistryDataset.Status.SUPERSEDED
    assert second.status == RegistryDataset.Status.ACTIVE
    assert not RegistryPrefix.objects.filter(dataset=ripe).exists()
    assert registry_contact(ip="198.51.100.10").email == "abuse@renamed.example"
    # Another registry's version is left alone.
    assert RegistryPrefix.objects.filter(dataset=apnic).count() == 2


def test_a_failed_import_leaves_the_previous_version_whole(tmp_path, ripe, monkeypatch):
    before = RegistryPrefix.objects.filter(dataset=ripe).count()

    def broken(*args, **kwargs):
        yield ("198.51.100.0/24", "0" * 32, "f" * 32, "x", "", "", "a@b.example", "", "", False)
        raise OSError("disk gone")

    monkeypatch.setattr(registry_dump, "rows_read", broken)
    with pytest.raises(OSError):
        registry_dump_import(paths=[dump(tmp_path, RIPE_DUMP, "c.db")], registry="ripe")
    assert list(RegistryDataset.objects.values_list("status", flat=True)) == ["active"]
    assert RegistryPrefix.objects.filter(dataset=ripe).count() == before
    assert registry_contact(ip="198.51.100.10").email == "abuse@customer.example"


def test_it_refuses_an_unknown_registry_and_a_missing_file(tmp_path):
    with pytest.raises(DumpError, match="unknown registry"):
        registry_dump_import(paths=[dump(tmp_path, APNIC_DUMP)], registry="krnic")
    with pytest.raises(DumpError, match="no such file"):
        registry_dump_import(paths=[str(tmp_path / "nope.gz")], registry="ripe")


# --- Command and the contact stage ---------------------------------------------------


def test_the_command_prints_its_figures_as_json(tmp_path, capsys):
    path = dump(tmp_path, APNIC_DUMP, "apnic.db.inetnum", gz=True)
    contacts = dump(tmp_path, APNIC_DUMP, "apnic.db.irt", gz=True)
    call_command("import_registry_dump", path, contacts, "--registry", "apnic", "--json")
    [figures] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert figures["summary"] is True
    assert figures["registry"] == "apnic"
    assert (figures["networks"], figures["with_contact"]) == (2, 2)


def test_the_command_shows_the_bytes_read_on_a_terminal_only(tmp_path):
    args = ("import_registry_dump", dump(tmp_path, APNIC_DUMP), "--registry", "apnic")
    out, err = run_command(*args, tty=True)
    assert bar_drawn(err) and "100%" in err
    assert out.startswith("apnic ") and not bar_drawn(out)
    assert not bar_drawn(run_command(*args)[1])
    assert not bar_drawn(run_command(*args, "--json", tty=True)[1])


def test_the_command_reads_split_files_by_their_class(tmp_path, capsys):
    # An inetnum file holds no roles: without the role file nothing resolves.
    path = dump(tmp_path, APNIC_DUMP, "apnic.db.inetnum", gz=True)
    call_command("import_registry_dump", path, "--registry", "apnic", "--json")
    [figures] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert figures["with_contact"] == 0


def test_the_command_refuses_a_missing_file():
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_registry_dump", "/nonexistent.gz", "--registry", "ripe")


def test_the_contact_stage_takes_the_dumps_answer_without_asking_rdap(ripe, settings):
    from probes.contacts import network_resolve

    settings.RDAP_BASE_URL = "http://127.0.0.1:9"  # nothing listens: RDAP would fail
    network = network_resolve(ip="198.51.100.70")
    assert network.cidr == "198.51.100.64/26"
    [candidate] = network.contact_candidates
    assert candidate["email"] == "abuse@customer2.example"
    assert (candidate["source"], candidate["data_date"]) == ("dump:ripe", "42")
    assert candidate["detail"] == "org-abuse-c of 198.51.100.64 - 198.51.100.127"
    assert Network.objects.get(cidr="198.51.100.64/26").registry == "ripe"


def test_a_network_from_the_dump_takes_its_origin_as_from_team_cymrus_dns(ripe, settings):
    from lab.asn_dns import AsnDnsServer, Origin
    from probes.contacts import network_resolve

    origin = Origin(64501, "198.51.100.0/24", "NL", "ripencc", "LAB-LIR-AS")
    settings.RDAP_ALLOWED_NETWORKS = ["198.51.100.0/24"]
    with AsnDnsServer(lambda ip: origin) as dns_server:
        settings.RDAP_ASN_DNS = dns_server.address
        network = network_resolve(ip="198.51.100.10")
    assert (network.asn, network.as_name) == (64501, "LAB-LIR-AS")


def test_a_dump_network_around_a_gap_never_shadows_the_assignments_inside(ripe):
    from probes.contacts import network_resolve

    # 203.0.113.0/24 holds the 203.0.113.0/25 assignment: a network cached
    # for an address in the other half is that half, never the whole /24,
    # which would shadow the assignment for later addresses.
    assert registry_dump.block_without_inner(ip="203.0.113.200", cidr="203.0.113.0/24") == (
        "203.0.113.128/25"
    )
    assert network_resolve(ip="198.51.100.10").cidr == "198.51.100.0/26"
