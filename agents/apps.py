from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self):
        post_migrate.connect(defaults_after_migrate, sender=self, dispatch_uid="agents_defaults")


def defaults_after_migrate(sender, apps=None, **kwargs):
    """After `migrate` (and `flush`): the tools declared in code have their `Tool` rows, so an
    admin can see and switch them off before any AI calls one; the shipped pipeline exists; and
    the periodic tasks are installed for beat."""
    try:
        if apps is not None:  # migrate sends the migrated state; flush sends none
            apps.get_model("agents", "AIAgent")
    except LookupError:  # migrated back to before these tables existed
        return
    from agents.pipelines.defaults import default_pipeline_ensure
    from agents.schedules import SCHEDULES
    from agents.tools import tools_sync
    from hilconsole.schedules import schedules_install

    tools_sync()
    default_pipeline_ensure()
    schedules_install(SCHEDULES)
