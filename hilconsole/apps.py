from django.apps import AppConfig


class HilConsoleConfig(AppConfig):
    name = "hilconsole"
    verbose_name = "Operations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The admin has loaded every app's pages by now; the customer page gains the console's
        # data-protection actions, which reach into every app.
        from hilconsole import admin_privacy  # noqa: F401
