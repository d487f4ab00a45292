"""The floor every later figure is compared with: one round trip through each infrastructure layer.

Measured on this machine in one run, on the real services: a PostgreSQL commit of a small row,
a Redis publish→subscribe round trip, a Celery no-op task enqueue→done through a real worker,
and a Channels group_send→receive through the Redis channel layer. Prints median and p95 of
each, and each layer's ratio to the raw Redis round trip.

Runs on its own embedded services (var/bench) unless DATABASE_URL / REDIS_URL are set.
"""

import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hilconsole.settings")
os.environ.setdefault("EMBEDDED_DIR", str(BASE_DIR / "var" / "bench"))
os.environ.setdefault("EMBEDDED_PG_PORT", "55434")
os.environ.setdefault("EMBEDDED_REDIS_PORT", "56381")
# The benchmarks run the console as in production (DEBUG off), which refuses to start without
# real secrets: these are made up per checkout, the same in every process of its runs (sessions
# made here are valid in the servers started here). Loopback only; never a deployment's.
for name in ("SECRET_KEY", "DEMO_SHOP_API_KEY"):
    os.environ.setdefault(name, hashlib.sha256(f"hil-bench:{name}:{BASE_DIR}".encode()).hexdigest())
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from hilconsole import embedded  # noqa: E402
from hilconsole.celery import app as celery_app  # noqa: E402
from hilconsole.tasks import noop  # noqa: E402
from tests.processes import free_port  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "300"))
WARMUP = 20


def timed(operation, rounds=ROUNDS) -> list[float]:
    """Milliseconds per call of `operation`, after a warm-up."""
    for _ in range(WARMUP):
        operation()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        operation()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def postgres_commit() -> list[float]:
    with connection.cursor() as cursor:  # Django autocommit: each INSERT is its own commit
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor_row (id bigserial PRIMARY KEY, note text)")
        try:
            return timed(lambda: cursor.execute("INSERT INTO bench_floor_row (note) VALUES (%s)", ["floor"]))
        finally:
            cursor.execute("DROP TABLE bench_floor_row")


def redis_publish_subscribe() -> list[float]:
    publisher = redis.Redis.from_url(settings.REDIS_URL)
    subscription = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    subscription.subscribe("bench-floor")

    def round_trip():
        publisher.publish("bench-floor", b"ping")
        while subscription.get_message(timeout=1.0) is None:
            pass

    try:
        return timed(round_trip)
    finally:
        subscription.close()


def celery_round_trip() -> list[float]:
    return timed(lambda: noop.delay(1).get(timeout=10))


def channels_round_trip() -> list[float]:
    async def measure():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("bench-floor", channel)
        samples = []
        for round_number in range(WARMUP + ROUNDS):
            started = time.perf_counter()
            await layer.group_send("bench-floor", {"type": "bench.ping"})
            await asyncio.wait_for(layer.receive(channel), 5)
            if round_number >= WARMUP:
                samples.append((time.perf_counter() - started) * 1000)
        await layer.group_discard("bench-floor", channel)
        return samples

    return asyncio.run(measure())


def log_of(name: str):
    """Where a benchmark's process writes its log: BENCH_LOG_DIR/<name>.log when set, else nowhere."""
    folder = os.environ.get("BENCH_LOG_DIR")
    if not folder:
        return subprocess.DEVNULL
    Path(folder).mkdir(parents=True, exist_ok=True)
    return open(Path(folder) / f"{name}.log", "ab")  # noqa: SIM115  (the child keeps it open)


def start_worker(name: str = "bench-floor", processes: int = 1) -> subprocess.Popen:
    """A Celery worker (`processes` children) on the benchmark's services, once it answers a ping."""
    hostname = f"{name}@localhost"
    env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL, "DEBUG": "false"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hilconsole", "worker", f"--concurrency={processes}",
         "--loglevel=WARNING", f"--hostname={hostname}", "--without-mingle", "--without-gossip"],
        cwd=BASE_DIR, env=env, stdout=log_of(name), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not celery_app.control.ping(destination=[hostname], timeout=0.5):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("The benchmark's Celery worker did not start.")
    return worker


def start_server(port: int, processes: int = 2, **env: str) -> subprocess.Popen:
    """The console's ASGI server (uvicorn, `processes` workers) on the benchmark's services,
    as in production (DEBUG off, plain HTTP), once it answers /healthz."""
    env = {
        **os.environ, "DATABASE_URL": settings.DATABASE_URL, "REDIS_URL": settings.REDIS_URL, "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
        "LOG_LEVEL": "WARNING",
        # Benchmarks measure the console's capacity, not the widget's rate limiter refusing it.
        "WIDGET_RATE_PER_CUSTOMER": "1000000/min", "WIDGET_RATE_PER_IP": "1000000/min", **env,
    }  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hilconsole.asgi:application", "--port", str(port),
         "--workers", str(processes), "--ws-max-size", str(settings.WEBSOCKET_MAX_FRAME_BYTES),
         "--no-access-log", "--log-level", "warning"],
        cwd=BASE_DIR, env=env, stdout=log_of("web"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("The benchmark's web server did not start.") from None
            time.sleep(0.1)


def start_web(count: int, **env: str) -> tuple[list[subprocess.Popen], list[str]]:
    """`count` web processes, each on a port of its own as behind a load balancer, and their base
    URLs: a benchmark spreads its clients over them as the balancer would. (uvicorn's --workers
    share one port, and the kernel gives each keep-alive connection to whichever process accepts
    it first: a claim_race run where most of the agents' connections landed on one process
    answered 320 claims a second, one where they were split 540, on the same code.)"""
    ports = [free_port() for _ in range(count)]
    return [start_server(port, processes=1, **env) for port in ports], [f"http://127.0.0.1:{port}" for port in ports]


def floor_medians() -> dict[str, float]:
    """The median of each layer's round trip (a worker must be running), for benchmarks that put
    their figures next to the floor."""
    return {
        "postgres commit": statistics.median(postgres_commit()),
        "redis round trip": statistics.median(redis_publish_subscribe()),
        "celery no-op": statistics.median(celery_round_trip()),
        "channels round trip": statistics.median(channels_round_trip()),
    }


def floors_line(floors: dict[str, float]) -> str:
    shown = ", ".join(f"{name} {value:.3f}" for name, value in floors.items())
    return f"  floors (infra_floor, median ms): {shown}; sum {sum(floors.values()):.3f}"


def stop(*processes: subprocess.Popen) -> None:
    """Stop the benchmark's processes, then its embedded services (unless BENCH_KEEP_SERVICES)."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(30)
    connection.close()
    if settings.EMBEDDED_SERVICES is not None and not os.environ.get("BENCH_KEEP_SERVICES"):
        embedded.stop(settings.EMBEDDED_SERVICES)


def service_pids() -> dict[str, int]:
    """The main processes of the embedded PostgreSQL and Redis the benchmark runs on, by name;
    none when it runs on services of its own (DATABASE_URL / REDIS_URL)."""
    services = settings.EMBEDDED_SERVICES
    if services is None:
        return {}
    postmaster = (services.postgres_dir / "postmaster.pid").read_text().splitlines()[0]
    return {"postgres": int(postmaster), "redis": int((services.redis_dir / "redis.pid").read_text().strip())}


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> None:
    services = settings.EMBEDDED_SERVICES
    started_here = services is not None and not os.environ.get("BENCH_KEEP_SERVICES")
    worker = start_worker()
    try:
        figures = {
            "redis publish→subscribe": redis_publish_subscribe(),
            "postgres commit (small row)": postgres_commit(),
            "celery no-op enqueue→done": celery_round_trip(),
            "channels group_send→receive": channels_round_trip(),
        }
    finally:
        worker.terminate()
        worker.wait(30)
        connection.close()
        if started_here:
            embedded.stop(services)

    floor = statistics.median(figures["redis publish→subscribe"])
    print(f"infra_floor: {ROUNDS} round trips per layer after {WARMUP} warm-up, on {os.cpu_count()} cores")
    print(f"{'layer':<30} {'median ms':>10} {'p95 ms':>10} {'× redis':>9}")
    for layer, samples in figures.items():
        median = statistics.median(samples)
        print(f"{layer:<30} {median:>10.3f} {p95(samples):>10.3f} {median / floor:>9.1f}")


if __name__ == "__main__":
    main()
