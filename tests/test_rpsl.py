"""probes.rpsl: the streaming RPSL reader, on real-format dumps and edge cases.

The dumps in tests/fixtures/rpsl/ are RIPE NCC's own whois test data (BSD-3,
see SOURCE.md).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from probes import rpsl

FIXTURES = Path(__file__).parent / "fixtures" / "rpsl"


def read(text: str) -> tuple[list[rpsl.RpslObject], list[rpsl.RpslError]]:
    errors: list[rpsl.RpslError] = []
    objects = list(rpsl.objects_read(text.splitlines(keepends=True), on_error=errors.append))
    return objects, errors


def test_it_reads_every_object_of_ripes_test_dump():
    lines = rpsl.lines_decoded(FIXTURES.joinpath("ripe-TEST.db").open("rb"))
    errors: list = []
    objects = list(rpsl.objects_read(lines, on_error=errors.append))
    assert errors == []
    kinds = {o.kind for o in objects}
    assert {"inetnum", "inet6num", "role", "organisation", "person", "mntner"} <= kinds
    role = next(o for o in objects if o.kind == "role" and o.key == "TEST ROLE")
    assert role.first("nic-hdl") == "AA2-TEST"
    assert role.first("abuse-mailbox") == "bitbucket@ripe.net"


def test_it_strips_end_of_line_comments_but_keeps_free_text():
    # From RIPE's TEST.db: "country: EU # Country is really world wide".
    lines = rpsl.lines_decoded(FIXTURES.joinpath("ripe-TEST.db").open("rb"))
    net = next(o for o in rpsl.objects_read(lines) if o.key == "10.0.0.0 - 10.255.255.255")
    assert net.first("country") == "EU"
    assert net.values("descr")[1] == "See http://www.ripe.net/db/rfc1918.html for details"


def test_it_joins_continuation_lines_of_a_real_afrinic_object():
    with gzip.open(FIXTURES / "afrinic.test.gz", "rt", encoding="latin-1") as handle:
        block = next(rpsl.objects_read(handle))
    assert block.kind == "as-block"
    assert block.first("remarks").startswith("These AS Numbers are further assigned to network")
    assert "<http://www.afrinic.net/policies/afpol-as200407-000.htm>" in block.first("remarks")


def test_it_reads_continuations_with_space_tab_and_plus():
    objects, errors = read(
        "role: Abuse Desk\nremarks: first\n second\n\tthird\n+\n  fourth\nnic-hdl: AD1-TEST\n"
    )
    assert errors == []
    assert objects[0].first("remarks") == "first second third fourth"
    assert objects[0].first("nic-hdl") == "AD1-TEST"


def test_it_keeps_every_value_of_a_repeated_attribute_in_order():
    objects, _ = read("inetnum: 192.0.2.0 - 192.0.2.255\nmnt-by: A-MNT\nmnt-by: B-MNT\n")
    assert objects[0].values("mnt-by") == ["A-MNT", "B-MNT"]
    assert objects[0].values("abuse-c") == []


def test_it_skips_comment_lines_and_file_headers():
    objects, errors = read(
        "# header\n% RIPE terms\n\ninetnum: 192.0.2.0 - 192.0.2.255\n# inside\nnetname: X\n"
    )
    assert errors == []
    assert [(o.kind, o.first("netname")) for o in objects] == [("inetnum", "X")]


def test_it_refuses_a_malformed_object_with_its_line_number_and_goes_on():
    objects, errors = read(
        "role: Good\nnic-hdl: G1\n\n"
        "inetnum: 192.0.2.0 - 192.0.2.255\nthis line has no colon\n\n"
        " continuation first\nnetname: X\n\n"
        "role: Also good\nnic-hdl: G2\n"
    )
    assert [o.first("nic-hdl") for o in objects] == ["G1", "G2"]
    assert [(e.line, e.reason.split(":")[0]) for e in errors] == [
        (5, "not an attribute"),
        (7, "continuation line before any attribute"),
    ]
    assert str(errors[0]).startswith("line 5: ")


def test_it_refuses_an_overlong_line():
    objects, errors = read("role: X\nremarks: " + "x" * (rpsl.MAX_LINE + 1) + "\n")
    assert objects == []
    assert errors[0].line == 2 and "longer than" in errors[0].reason


def test_it_reads_latin1_bytes_that_are_not_utf8():
    lines = rpsl.lines_decoded([b"role: Caf\xe9 Abuse\n", b"nic-hdl: C1\n"])
    [role] = rpsl.objects_read(lines)
    assert role.key == "Café Abuse"


def test_it_skips_other_classes_unparsed_when_asked_for_some():
    text = "role: R\nnic-hdl: R1\n\ninetnum: 192.0.2.0 - 192.0.2.255\nbroken line\n\n"
    errors: list = []
    objects = list(
        rpsl.objects_read(
            text.splitlines(keepends=True), on_error=errors.append, kinds=frozenset({"role"})
        )
    )
    assert [o.kind for o in objects] == ["role"]
    assert errors == []  # the broken inetnum was never parsed
