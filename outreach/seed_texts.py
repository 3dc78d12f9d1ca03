"""The reference campaign's agencies, named and introduced in each language we can write well.

The texts live in ``seed_agency_texts.csv``, one row per agency and language,
so that a reviewer can work through them in a spreadsheet. French comes from
the customer's reference letter (``shared/seeds/ftc-open-relay-letter-fr.txt``)
wherever it names the agency, and is marked reviewed; everything else was
written here in the same register and is marked machine-unchecked until
someone reviews it in the agency admin. Every text is a whole phrase:
articles and case are part of it.

Columns: ``code`` and ``language``, then the AgencyText fields: ``status``,
``name``, ``in_list`` (the name as a list of partners gives it),
``introduction`` and ``subject`` (the signing agency only), and
``group``/``group_phrase``/``group_member`` for partners named together (the
states' attorneys general). An empty cell leaves the field as it is.
"""

from __future__ import annotations

import csv
from pathlib import Path

SEED_FILE = Path(__file__).with_name("seed_agency_texts.csv")


def seed_texts(path: Path = SEED_FILE) -> dict[str, dict[str, dict[str, str]]]:
    """code → language → the AgencyText fields (``status`` included)."""
    texts: dict[str, dict[str, dict[str, str]]] = {}
    with path.open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            code, language = row.pop("code"), row.pop("language")
            texts.setdefault(code, {})[language] = {
                key: value for key, value in row.items() if value
            }
    return texts
