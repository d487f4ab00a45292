from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self):
        post_migrate.connect(tools_sync_after_migrate, sender=self, dispatch_uid="agents_tools_sync")


def tools_sync_after_migrate(sender, apps=None, **kwargs):
    """After `migrate` (and `flush`), the tools declared in code have their `Tool` rows, so an
    admin can see and switch them off before any AI calls one."""
    try:
        if apps is not None:  # migrate sends the migrated state; flush sends none
            apps.get_model("agents", "Tool")
    except LookupError:  # migrated back to before the Tool table existed
        return
    from agents.tools import tools_sync

    tools_sync()
