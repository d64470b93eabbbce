"""Create the Demarche role groups with their model permissions (idempotent)."""

from django.db import migrations

VIEW_ALL = ["view"]
ANNOTATE = ["view", "add", "change", "delete"]

ROLE_PERMISSIONS = {
    "analyst": {
        "article": ["view", "add"],
        "quote": ANNOTATE,
        "stance": ANNOTATE,
        "speaker": ["view", "add"],
        "speakeralias": ["view", "add"],
        "speakerrole": ["view", "add"],
        "target": VIEW_ALL,
        "stancelabel": VIEW_ALL,
        "assignment": ["view", "change"],
    },
    "reviewer": {
        model: ANNOTATE
        for model in [
            "article",
            "quote",
            "stance",
            "speaker",
            "speakeralias",
            "speakerrole",
            "target",
            "stancelabel",
            "assignment",
            "release",
        ]
    },
    "researcher": {
        model: VIEW_ALL
        for model in [
            "article",
            "quote",
            "stance",
            "speaker",
            "speakeralias",
            "speakerrole",
            "target",
            "stancelabel",
            "release",
        ]
    },
}


def create_role_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrations; make them now so the
    # groups can hold them on a fresh database.
    app_config = apps.get_app_config("annotations")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, models in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [f"{action}_{model}" for model, actions in models.items() for action in actions]
        permissions = Permission.objects.filter(content_type__app_label="annotations", codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions missing for the {role} group: {sorted(missing)}")
        group.permissions.add(*permissions)


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0002_offset_triggers"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
