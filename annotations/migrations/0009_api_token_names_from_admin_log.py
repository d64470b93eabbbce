"""Carry each API token's name over from the admin log entry that recorded its
creation (where the tokens page kept names before ApiTokenName) into the new
table. Tokens without such an entry get "(unnamed)", as the page showed them."""

from django.db import migrations

ADDITION = 1  # django.contrib.admin.models.ADDITION


def names_from_log(apps, schema_editor):
    AuthToken = apps.get_model("knox", "AuthToken")
    ApiTokenName = apps.get_model("annotations", "ApiTokenName")
    LogEntry = apps.get_model("admin", "LogEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.filter(app_label="knox", model="authtoken").first()
    names = {}
    if content_type is not None:
        entries = LogEntry.objects.filter(content_type=content_type, action_flag=ADDITION).order_by("action_time")
        names = dict(entries.values_list("object_id", "object_repr"))
    named = set(ApiTokenName.objects.values_list("digest", flat=True))
    ApiTokenName.objects.bulk_create(
        ApiTokenName(
            token=token,
            digest=token.digest,
            user_id=token.user_id,
            name=names.get(token.digest, "(unnamed)"),
            prefix=token.token_key[:8],
            created_at=token.created,
            expiry=token.expiry,
        )
        for token in AuthToken.objects.exclude(digest__in=named).iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0008_api_token_names"),
        # The token as knox has it now (digest, token_key, expiry).
        ("knox", "0009_extend_authtoken_field"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(names_from_log, migrations.RunPython.noop)]
