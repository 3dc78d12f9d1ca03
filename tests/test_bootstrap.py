"""probes.bootstrap: the registry of an address from the shipped RFC 7484 files."""

from __future__ import annotations

import json

import pytest

from probes import bootstrap


@pytest.mark.parametrize(
    ("ip", "registry"),
    [
        ("62.239.237.1", "ripe"),
        ("74.125.225.229", "arin"),
        ("200.57.141.161", "lacnic"),
        ("210.107.73.73", "apnic"),
        ("196.11.240.215", "afrinic"),
        ("2a00:2381:ffff::1", "ripe"),
        ("2001:4860:4860::8888", "arin"),
        ("2801:10:c000::", "lacnic"),
        ("2001:43f8:7b0::", "afrinic"),
        ("2001:240:10c:1::ca20:9d1d", "apnic"),
        ("10.1.2.3", ""),
    ],
)
def test_it_places_each_recorded_address_in_its_registry(ip, registry):
    assert bootstrap.registry_for(ip) == registry


def _file(services: list) -> str:
    return json.dumps({"version": "1.0", "services": services})


def test_it_skips_services_of_registries_it_does_not_bucket():
    pairs = bootstrap.bootstrap_parse(
        _file([[["1.0.0.0/8"], ["https://rdap.apnic.net/"]], [["43.0.0.0/8"], ["https://x.jp/"]]])
    )
    assert [(str(net), reg) for net, reg in pairs] == [("1.0.0.0/8", "apnic")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<html>", "not JSON"),
        (json.dumps({"services": []}), "no services"),
        (_file([[["1.0.0.0/33"], ["https://rdap.apnic.net/"]]]), "bad prefix"),
        (_file([["1.0.0.0/8"]]), r"not \[prefixes, urls\]"),
    ],
)
def test_it_refuses_a_malformed_file_with_a_reason(text, reason):
    with pytest.raises(bootstrap.BootstrapError, match=reason):
        bootstrap.bootstrap_parse(text)


def test_it_refuses_overlapping_prefixes():
    pairs = bootstrap.bootstrap_parse(
        _file(
            [
                [["1.0.0.0/8"], ["https://rdap.apnic.net/"]],
                [["1.2.0.0/16"], ["https://rdap.db.ripe.net/"]],
            ]
        )
    )
    with pytest.raises(bootstrap.BootstrapError, match="overlapping"):
        bootstrap.table_build(pairs)


def _source_and_target(tmp_path):
    """A folder of valid bootstrap files, and an empty one to write them to."""
    source, target = tmp_path / "src", tmp_path / "dst"
    source.mkdir()
    target.mkdir()
    (source / "ipv4.json").write_text(_file([[["1.0.0.0/8"], ["https://rdap.apnic.net/"]]]))
    (source / "ipv6.json").write_text(_file([[["2a00::/12"], ["https://rdap.db.ripe.net/"]]]))
    return source, target


def test_the_refresh_command_swaps_in_valid_files_and_refuses_bad_ones(tmp_path):
    from django.core.management import CommandError, call_command

    source, target = _source_and_target(tmp_path)
    call_command("rdap_bootstrap_refresh", "--source", str(source), "--to", str(target))
    assert bootstrap.registry_for("1.2.3.4", data_dir=str(target)) == "apnic"
    assert bootstrap.registry_for("62.1.1.1", data_dir=str(target)) == ""
    (source / "ipv6.json").write_text("<html>")
    with pytest.raises(CommandError, match=r"ipv6\.json: not JSON"):
        call_command("rdap_bootstrap_refresh", "--source", str(source), "--to", str(target))
    assert bootstrap.registry_for("2a00::1", data_dir=str(target)) == "ripe"


def test_the_refresh_command_prints_a_json_summary(tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from tests.command_io import json_lines

    source, target = _source_and_target(tmp_path)
    out = StringIO()
    call_command(
        "rdap_bootstrap_refresh", "--source", str(source), "--to", str(target), "--json", stdout=out
    )
    assert json_lines(out) == [
        {
            "summary": True,
            "source": str(source),
            "to": str(target),
            "files": ["ipv4.json", "ipv6.json"],
        }
    ]
