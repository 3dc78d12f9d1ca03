from __future__ import annotations

import csv
import io
import subprocess
import zipfile

import pytest
from django.core.management import CommandError, call_command

from letters.models import Letter
from tests.command_io import bar_drawn, json_lines, run_command
from tests.factories import AgencyFactory, CampaignFactory, ContactFactory
from tests.letters_helpers import compiled_catalogs, letter_with_relays  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogs")]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_builds_letters_and_prints_json():
    letter = letter_with_relays()
    Letter.objects.all().delete()
    [summary] = json_lines(run("build_letters", "--campaign", letter.campaign.slug, "--json"))
    assert summary["created"] == 1 and summary["campaign"] == letter.campaign.slug
    assert Letter.objects.count() == 1
    [again] = json_lines(run("build_letters", "--campaign", letter.campaign.slug, "--json"))
    assert (again["created"], again["unchanged"]) == (0, 1)


def test_it_shows_the_build_progress_on_a_terminal_only():
    slug = letter_with_relays().campaign.slug
    out, err = run_command("build_letters", "--campaign", slug, tty=True)
    assert bar_drawn(err) and "1/1" in err
    assert "campaign: " in out and not bar_drawn(out)
    assert not bar_drawn(run_command("build_letters", "--campaign", slug)[1])
    assert not bar_drawn(run_command("build_letters", "--campaign", slug, "--json", tty=True)[1])


def test_it_names_an_unknown_campaign():
    with pytest.raises(CommandError, match="No campaign"):
        run("build_letters", "--campaign", "nope")


def approved_letters():
    campaign = CampaignFactory()
    partner = AgencyFactory(code="sernac")
    first = letter_with_relays(campaign=campaign, language="fr", status=Letter.Status.APPROVED)
    second = letter_with_relays(
        campaign=campaign,
        agency=partner,
        language="es",
        status=Letter.Status.APPROVED,
        contact=ContactFactory(organisation="=HYPERLINK(1)"),
    )
    letter_with_relays(campaign=campaign)  # a draft: never exported
    return campaign, first, second


def test_it_exports_a_zip_of_pdfs_with_a_manifest(tmp_path):
    campaign, _first, second = approved_letters()
    out = tmp_path / "letters.zip"
    run("export_letters", "--campaign", campaign.slug, "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
        pdf = archive.read(rows[0]["file"])
    assert len(rows) == 2 and "manifest.csv" in names
    files = {row["file"] for row in rows}
    assert files == names - {"manifest.csv"}
    assert any(f.startswith("sernac_") and f.endswith(f"_{second.pk}.pdf") for f in files)
    assert pdf.startswith(b"%PDF-")
    assert {row["language"] for row in rows} == {"fr", "es"}
    assert "'=HYPERLINK(1)" in {row["organisation"] for row in rows}


def test_it_prints_the_export_as_json(tmp_path):
    campaign, _first, _second = approved_letters()
    out = tmp_path / "letters.zip"
    lines = run("export_letters", "--campaign", campaign.slug, "--out", str(out), "--json")
    assert json_lines(lines) == [{"summary": True, "path": str(out), "letters": 2, "merged": False}]
    with zipfile.ZipFile(out) as archive:
        assert len(archive.namelist()) == 3


def test_it_shows_the_export_progress_on_a_terminal_only(tmp_path):
    campaign, _first, _second = approved_letters()
    args = ("export_letters", "--campaign", campaign.slug, "--out", str(tmp_path / "x.zip"))
    out, err = run_command(*args, tty=True)
    assert bar_drawn(err) and "2/2" in err
    assert out == f"2 letters written to {tmp_path / 'x.zip'}\n"
    assert not bar_drawn(run_command(*args)[1])
    assert not bar_drawn(run_command(*args, "--json", tty=True)[1])


def test_it_filters_the_export_by_agency_and_language(tmp_path):
    campaign, _first, second = approved_letters()
    out = tmp_path / "sernac.zip"
    run("export_letters", "--campaign", campaign.slug, "--agency", "sernac", "--out", str(out))
    with zipfile.ZipFile(out) as archive:
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [int(row["letter_id"]) for row in rows] == [second.pk]
    with pytest.raises(CommandError, match="No approved letter"):
        run("export_letters", "--campaign", campaign.slug, "--language", "ja", "--out", str(out))


def test_it_exports_one_merged_pdf_for_printing(tmp_path):
    campaign, _first, _second = approved_letters()
    out = tmp_path / "print.zip"
    run("export_letters", "--campaign", campaign.slug, "--out", str(out), "--merged")
    with zipfile.ZipFile(out) as archive:
        assert set(archive.namelist()) == {"letters.pdf", "manifest.csv"}
        pdf = archive.read("letters.pdf")
        rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert rows[0]["first_page"] == "1"
    assert int(rows[1]["first_page"]) == int(rows[0]["last_page"]) + 1
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout.decode()
    assert "Madame, Monsieur" in text and "Estimado administrador de red" in text


def test_it_refuses_a_merged_pdf_too_big_to_hold(tmp_path, monkeypatch):
    from letters import exports

    monkeypatch.setattr(exports, "MAX_MERGED_LETTERS", 1)
    campaign, _first, _second = approved_letters()
    out = tmp_path / "print.zip"
    with pytest.raises(CommandError, match="too many for one merged PDF"):
        run("export_letters", "--campaign", campaign.slug, "--out", str(out), "--merged")
    assert not out.exists()


def test_it_leaves_no_half_written_zip_when_a_letter_fails(tmp_path, monkeypatch):
    from letters import pdf, rendered
    from letters.exports import letters_export

    def broken(letter, **kwargs):
        raise pdf.PdfTimeout("too slow")

    # Export renders through letters.rendered (render once), the one place
    # a letter's PDF is made.
    monkeypatch.setattr(rendered, "renderer", broken)
    _campaign, first, second = approved_letters()
    with pytest.raises(pdf.PdfTimeout):
        letters_export(letters=[first, second], out=tmp_path / "x.zip")
    assert list(tmp_path.iterdir()) == []
