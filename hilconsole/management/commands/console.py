import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager

from hilconsole import embedded


class Command(BaseCommand):
    help = (
        "Run the whole console: migrate, seed the demo, then the ASGI server (uvicorn), a Celery worker and "
        "Celery beat under one supervisor (honcho). Ctrl-C stops everything."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")
        parser.add_argument(
            "--keep-services",
            action="store_true",
            default=os.environ.get("KEEP_SERVICES", "") not in ("", "0", "false"),
            help="Leave the embedded PostgreSQL and Redis running after the console stops (or KEEP_SERVICES=1).",
        )

    def handle(self, *args, host, port, no_seed, keep_services, **options):
        if not embedded.port_is_free(host, port):
            raise CommandError(f"Cannot serve on {host}:{port}: the port is in use. Try another: PORT=8001 make run")
        call_command("migrate", interactive=False, verbosity=1)
        # Again on every start: a schedule changed in code reaches celery beat's tables.
        call_command("install_schedules")
        if not no_seed:
            call_command("seed_demo")
        manager = Manager()
        for name, command in self._processes(host, port).items():
            manager.add_process(name, command, env=self._child_environment())
        self._print_urls(host, port)
        try:
            manager.loop()
        finally:
            if settings.EMBEDDED_SERVICES is not None and not keep_services:
                stopped = embedded.stop(settings.EMBEDDED_SERVICES)
                self.stdout.write(f"Embedded services stopped cleanly: {', '.join(stopped) or 'none running'}.")
        if manager.returncode not in (0, 130, 143):
            raise CommandError(
                f"A console process exited unexpectedly (exit code {manager.returncode}), "
                "so the others were stopped. Its last log lines are above."
            )

    def _processes(self, host: str, port: int) -> dict[str, str]:
        # exec: the server itself, not a shell around it, is the supervised child, so its
        # crash is seen at once and signals reach it.
        python = f"exec {sys.executable}"
        workers = os.environ.get("WEB_CONCURRENCY", "1")
        return {
            "web": f"{python} -m uvicorn hilconsole.asgi:application --host {host} --port {port} --workers {workers} "
            f"--ws-max-size {settings.WEBSOCKET_MAX_FRAME_BYTES}",
            "worker": f"{python} -m celery -A hilconsole worker --loglevel=INFO --concurrency=2",
            "beat": f"{python} -m celery -A hilconsole beat --loglevel=INFO --pidfile=",
        }

    def _child_environment(self) -> dict[str, str]:
        # The children use the services started here rather than each checking for them.
        return {
            **os.environ,
            "DATABASE_URL": settings.DATABASE_URL,
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "true" if settings.DEBUG else "false",
            "PYTHONUNBUFFERED": "1",
        }

    def _print_urls(self, host: str, port: int) -> None:
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
        self.stdout.write(
            self.style.SUCCESS("\nHIL Console is starting:")
            + f"\n  Admin        {base}/admin/"
            + f"\n  Desk         {base}/desk/"
            + f"\n  Widget demo  {base}/demo/"
            + f"\n  Readiness    {base}/readyz\n"
            + "Press Ctrl-C to stop everything.\n"
        )
