"""The admin catalogs (outreach/locale): complete for every admin language (issue 20)."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import to_locale

from letters.catalogs import (
    CATALOG_SOURCES,
    admin_catalog_languages,
    admin_catalog_sources,
    admin_catalogs_update,
    catalog_problems,
)

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
    # On a copy: the test never rewrites the real catalogs.
    shutil.copytree(ADMIN_LOCALE, tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    admin_catalogs_update(locale_dir=tmp_path / "locale")
    problems = {
        po.parent.parent.name: catalog_problems(po)
        for po in sorted((tmp_path / "locale").glob("*/LC_MESSAGES/django.po"))
    }
    assert sorted(problems) == ["es", "ja"]
    assert {lang: found for lang, found in problems.items() if found} == {}


def test_a_model_label_is_translated_from_the_admin_catalog():
    from outreach.models import Host

    with translation.override("es"):
        # The letter catalog, which Django reads first, also says it (capitalised).
        assert str(Host._meta.get_field("ip").verbose_name).lower() == "dirección ip"
    with translation.override("ja"):
        assert str(Host._meta.verbose_name_plural) == "ホスト"
