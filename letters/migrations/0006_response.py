"""Response moves from the outreach app into the letters app.

The core app no longer points at letters.Letter, so its first migration no
longer depends on the letters app. A database migrated before the move
already has the table (``outreach_response``) and RecipientAction's column:
the table is renamed, with every row, and its content type follows it, so
permissions and audit entries keep pointing at the same model. A new
database gets the table and the column here.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

OLD_TABLE = "outreach_response"


def response_table_adopt(apps, schema_editor):
    response = apps.get_model("letters", "Response")
    action = apps.get_model("letters", "RecipientAction")
    if OLD_TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.alter_db_table(response, OLD_TABLE, response._meta.db_table)
        content_types = apps.get_model("contenttypes", "ContentType")
        if not content_types.objects.filter(app_label="letters", model="response").exists():
            content_types.objects.filter(app_label="outreach", model="response").update(
                app_label="letters"
            )
        return
    schema_editor.create_model(response)
    schema_editor.add_field(action, action._meta.get_field("response"))


def response_table_drop(apps, schema_editor):
    response = apps.get_model("letters", "Response")
    action = apps.get_model("letters", "RecipientAction")
    schema_editor.remove_field(action, action._meta.get_field("response"))
    schema_editor.delete_model(response)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("letters", "0005_recipient_code"),
        ("outreach", "0003_host_fewer_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Response",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "received_at",
                            models.DateTimeField(
                                db_index=True, default=django.utils.timezone.now
                            ),
                        ),
                        (
                            "channel",
                            models.CharField(
                                choices=[
                                    ("email", "Email"),
                                    ("phone", "Phone"),
                                    ("post", "Post"),
                                    ("web", "Web"),
                                ],
                                default="email",
                                max_length=8,
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("reply", "Reply"),
                                    ("bounce", "Bounce"),
                                    ("auto_reply", "Auto-reply"),
                                    ("fixed_claim", "Claims fixed"),
                                    ("dispute", "Dispute"),
                                    ("opt_out", "Opt-out"),
                                    ("question", "Question"),
                                ],
                                db_index=True,
                                default="reply",
                                max_length=12,
                            ),
                        ),
                        ("sender", models.CharField(blank=True, max_length=254)),
                        ("subject", models.CharField(blank=True, max_length=998)),
                        (
                            "message_id",
                            models.CharField(blank=True, db_index=True, max_length=998),
                        ),
                        ("body", models.TextField(blank=True)),
                        ("outcome", models.CharField(blank=True, max_length=255)),
                        (
                            "handled_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "letter",
                            models.ForeignKey(
                                blank=True,
                                help_text="Empty while the message waits in the unmatched queue.",
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="responses",
                                to="letters.letter",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-received_at"],
                    },
                ),
                migrations.AddField(
                    model_name="recipientaction",
                    name="response",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="letters.response",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(response_table_adopt, response_table_drop),
    ]
