"""Migrations keep what a database already holds.

Response moved from the outreach app to the letters app. A database
migrated before the move has ``outreach_response`` (made by the old
``outreach/0001``) and RecipientAction's ``response`` column (the old
``letters/0004``); the test rebuilds that schema with the same operations,
fills it, migrates forward and finds every row again.
"""

from __future__ import annotations

import importlib

import django.db.models.deletion
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, migrations, models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from letters.models import RecipientAction, Response

BEFORE = [("letters", "0005_recipient_code"), ("outreach", "0003_host_fewer_indexes")]


def _legacy_operations() -> list[tuple[str, migrations.operations.base.Operation]]:
    """What the old migrations did: the same model, but in the outreach app,
    and RecipientAction's column pointing at it."""
    moved = importlib.import_module("letters.migrations.0006_response").Migration
    create, _add = moved.operations[0].state_operations
    field = models.ForeignKey(
        blank=True,
        null=True,
        on_delete=django.db.models.deletion.SET_NULL,
        related_name="+",
        to="outreach.response",
    )
    return [
        ("outreach", migrations.CreateModel("Response", create.fields, create.options)),
        ("letters", migrations.AddField("recipientaction", "response", field)),
    ]


def _legacy_schema(executor: MigrationExecutor):
    state = executor.loader.project_state(BEFORE)
    with connection.schema_editor() as editor:
        for app_label, operation in _legacy_operations():
            after = state.clone()
            operation.state_forwards(app_label, after)
            operation.database_forwards(app_label, editor, state, after)
            state = after
    return state.apps


@pytest.mark.django_db(transaction=True)
def test_it_keeps_every_response_when_the_model_moves_to_letters():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = _legacy_schema(executor)
    ContentType.objects.filter(app_label="letters", model="response").delete()
    content_type = ContentType.objects.create(app_label="outreach", model="response")
    agency = old.get_model("outreach", "Agency").objects.create(name="FTC", code="ftc")
    campaign = old.get_model("outreach", "Campaign").objects.create(
        name="C", slug="c", lead_agency=agency
    )
    contact = old.get_model("outreach", "Contact").objects.create(email="abuse@isp.example")
    letter = old.get_model("letters", "Letter").objects.create(
        campaign=campaign, agency=agency, contact=contact
    )
    answer = old.get_model("outreach", "Response").objects.create(
        letter=letter, kind="fixed_claim", channel="web", subject="Fixed", body="done"
    )
    unmatched = old.get_model("outreach", "Response").objects.create(kind="bounce")
    action = old.get_model("letters", "RecipientAction").objects.create(
        letter=letter, action="fixed_claim", response=answer
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert "outreach_response" not in connection.introspection.table_names()
    moved = Response.objects.get(pk=answer.pk)
    assert (moved.letter_id, moved.kind, moved.channel, moved.body) == (
        letter.pk,
        "fixed_claim",
        "web",
        "done",
    )
    assert Response.objects.get(pk=unmatched.pk).letter_id is None
    assert RecipientAction.objects.get(pk=action.pk).response == moved
    # Permissions and audit entries point at the content type: it moved too.
    content_type.refresh_from_db()
    assert content_type.app_label == "letters"
    ContentType.objects.clear_cache()
    assert ContentType.objects.get_for_model(Response).pk == content_type.pk
    # New rows still get fresh ids after the rename.
    assert Response.objects.create(kind="reply").pk > unmatched.pk


@pytest.mark.django_db(transaction=True)
def test_a_new_database_gets_the_table_from_the_letters_app():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    assert "letters_response" not in connection.introspection.table_names()
    assert "outreach_response" not in connection.introspection.table_names()

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert "letters_response" in connection.introspection.table_names()
    assert Response.objects.create(kind="reply").pk


def test_the_core_app_migrations_never_wait_for_letters():
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    for node in graph.nodes:
        if node[0] == "outreach":
            assert all(parent[0] != "letters" for parent in graph.node_map[node].parents), node
