from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.translation import to_locale

from letters.catalogs import (
    admin_catalog_languages,
    catalog_languages,
    catalog_problems,
    catalogs_update,
)
from tests.catalog_helpers import problems_after_update

LOCALE = Path(settings.BASE_DIR) / "locale"


def test_it_has_a_catalog_for_every_letter_language_but_the_source():
    languages = catalog_languages()
    assert len(languages) >= 21
    for code in languages:
        assert (LOCALE / to_locale(code) / "LC_MESSAGES" / "django.po").exists(), code


def test_it_leaves_nothing_untranslated_after_makemessages(tmp_path):
    problems = problems_after_update(LOCALE, catalogs_update, tmp_path)
    assert len(problems) == len(catalog_languages())
    assert {lang: found for lang, found in problems.items() if found} == {}


def test_it_finds_an_untranslated_or_fuzzy_entry(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "one"\nmsgstr ""\n\n#, fuzzy\nmsgid "two"\nmsgstr "deux"\n'
    )
    problems = catalog_problems(po)
    assert any("untranslated" in p and '"one"' in p for p in problems)
    assert any("fuzzy" in p and '"two"' in p for p in problems)


def test_it_reports_a_broken_format_string(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, python-format\nmsgid "Hello %(name)s"\nmsgstr "Bonjour %(nom)s"\n'
    )
    assert any("msgfmt --check" in p for p in catalog_problems(po))


@pytest.mark.parametrize("code", [c for c, _n in settings.LANGUAGES if c != "en"])
def test_it_declares_the_plural_forms_of_each_language(code):
    text = (LOCALE / to_locale(code) / "LC_MESSAGES" / "django.po").read_text()
    nplurals = int(re.search(r"nplurals=(\d)", text).group(1))
    expected = {"ar": 6, "pl": 3, "ru": 3, "uk": 3, "cs": 3, "ro": 3}
    single = {"ja", "zh-hans", "ko", "vi", "id", "th"}
    assert nplurals == expected.get(code, 1 if code in single else 2)
    for block in text.split("\n\n"):
        if "msgid_plural" in block:
            assert block.count("msgstr[") == nplurals


def test_the_command_prints_each_problem_and_the_summary_as_json(tmp_path, monkeypatch):
    from django.core.management import CommandError

    from letters.management.commands import update_catalogs
    from tests.command_io import json_lines, run_command

    # Only the reporting is under test: makemessages itself is the test above.
    monkeypatch.setattr(update_catalogs, "catalogs_update", lambda locale_dir: None)
    monkeypatch.setattr(update_catalogs, "admin_catalogs_update", lambda locale_dir: None)
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)
    po = tmp_path / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "one"\nmsgstr ""\n\n#, fuzzy\nmsgid "two"\nmsgstr "deux"\n'
    )
    admin_po = tmp_path / "outreach" / "locale" / "es" / "LC_MESSAGES" / "django.po"
    admin_po.parent.mkdir(parents=True)
    admin_po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "x"\nmsgstr ""\n'
    )
    out, err = run_command("update_catalogs", "--json")
    *rows, summary = json_lines(out)
    assert [(row["catalog"], row["language"], row["problem"].split(":")[0]) for row in rows] == [
        ("letter", "fr", "untranslated"),
        ("letter", "fr", "fuzzy"),
        ("admin", "es", "untranslated"),
    ]
    catalogs = len(catalog_languages()) + len(admin_catalog_languages())
    assert summary == {"summary": True, "catalogs": catalogs, "problems": 3}
    assert err.count("letter fr: ") == 2
    with pytest.raises(CommandError, match="3 catalog problem"):
        run_command("update_catalogs", "--check", "--json")
