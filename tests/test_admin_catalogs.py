"""The admin catalogs (outreach/locale): complete for every admin language (issue 20)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import to_locale

from letters.catalogs import (
    CATALOG_SOURCES,
    admin_catalog_languages,
    admin_catalog_sources,
    admin_catalogs_update,
)
from tests.catalog_helpers import problems_after_update

ADMIN_LOCALE = Path(settings.BASE_DIR) / "outreach" / "locale"


def test_every_admin_language_but_the_source_has_a_catalog():
    assert admin_catalog_languages() == ["es", "ja"]
    for code in admin_catalog_languages():
        assert (ADMIN_LOCALE / to_locale(code) / "LC_MESSAGES" / "django.po").exists(), code


def test_the_admin_sources_are_everything_but_the_letter_sources_and_the_command_line():
    sources = admin_catalog_sources()
    assert "outreach/admin.py" in sources
    assert "probes/models.py" in sources
    assert "templates/admin/outreach/campaign/home.html" in sources
    assert not [s for s in sources if any(s.startswith(letter) for letter in CATALOG_SOURCES)]
    assert not [s for s in sources if "/management/" in s or "/migrations/" in s]


def test_it_leaves_nothing_untranslated_after_makemessages(tmp_path):
    problems = problems_after_update(ADMIN_LOCALE, admin_catalogs_update, tmp_path)
    assert sorted(problems) == ["es", "ja"]
    assert {lang: found for lang, found in problems.items() if found} == {}


def test_a_model_label_is_translated_from_the_admin_catalog():
    from outreach.models import Host

    with translation.override("es"):
        # The letter catalog, which Django reads first, also says it (capitalised).
        assert str(Host._meta.get_field("ip").verbose_name).lower() == "dirección ip"
    with translation.override("ja"):
        assert str(Host._meta.verbose_name_plural) == "ホスト"
