"""Run the benchmarks and print one table: ``python -m bench [--quick] [--reuse]`` (``make bench``).

1. Creates and migrates a database of its own and fills it with the workload
   generator: 1,000,000 curated quotes, or 10,000 with ``--quick``. It is named
   for the run (``demarche_bench_<pid>``) and dropped at the end, whatever
   happens; a database of that name that already exists is never touched.
   ``--reuse`` keeps one database (``demarche_bench``) between runs instead:
   reused when the bench generated it with the same size, seed and generator,
   generated again (without forcing anyone off it) when the bench generated it
   with another, and refused when anything else made it.
2. Serves it with gunicorn on 127.0.0.1 (``config/gunicorn.conf.py``, DEBUG
   off, a real secret key) under ``bench.settings``, which adds the floor views.
3. Runs each job beside its floor, prints the table and writes it as JSON to
   ``bench/results/``.

The exit status is non-zero when a job fails to run, and in full mode also when
a target is missed; ``--quick`` (CI) only checks that everything runs.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import os
import platform
import secrets
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .server import ROOT

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
REUSED_DATABASE = "demarche_bench"
SPEC_PREFIX = "demarche bench:"  # the comment the bench puts on a database it generated
# In the order they run; the server's are run against one gunicorn.
SERVER_JOBS = ("annotate", "speaker", "create", "api", "stats", "compare", "detect-import")
JOBS = (*SERVER_JOBS, "export", "import", "detector")


def log(message: str) -> None:
    print(message, flush=True)


def generator_version() -> str:
    digest = hashlib.sha256()
    for name in ("generate.py", "corpus.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:12]


def admin_connection(server_url: str) -> Any:
    import psycopg

    return psycopg.connect(f"{server_url}/postgres", autocommit=True)


def database_spec(args: argparse.Namespace) -> str:
    return f"{SPEC_PREFIX} size={args.size} seed={args.seed} generator={generator_version()}"


def drop_database(server: str, database: str) -> None:
    """Drop a database this run created (FORCE only ends this run's own leftover connections)."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
    with admin_connection(server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    log(f"Dropped {database}")


def prepare_database(args: argparse.Namespace, env: dict[str, str], cleanup: contextlib.ExitStack) -> dict[str, Any]:
    """A migrated, generated bench database; reused only when asked and identical in spec.

    Without --reuse the database is new (CREATE fails on an existing name: it is
    someone else's) and ``cleanup`` drops it. With --reuse, an existing database
    is replaced only when its comment says the bench generated it, and never
    with FORCE: a run still connected to it keeps it, and this one stops.
    """
    import psycopg

    spec = database_spec(args)
    with admin_connection(args.server) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone()
        if args.reuse and row:
            comment = row[0] or ""
            if comment.startswith(spec + " "):
                log(f"Reusing {args.database} ({comment}); applying new migrations, if any")
                subprocess.run(
                    [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
                )
                return json.loads(comment[len(spec) + 1 :])
            if not comment.startswith(SPEC_PREFIX):
                raise SystemExit(
                    f"{args.database} exists but the bench did not generate it (or is generating it now): "
                    "drop it yourself, or name another database with BENCH_DATABASE"
                )
            log(f"Replacing {args.database}, generated with another spec ({comment.split(' {')[0]})")
            try:
                admin.execute(f'DROP DATABASE "{args.database}"')
            except psycopg.errors.ObjectInUse as busy:
                raise SystemExit(f"{args.database} is in use by another session: not replaced ({busy})") from busy
        log(f"Creating {args.database}")
        try:
            admin.execute(f'CREATE DATABASE "{args.database}"')
        except psycopg.errors.DuplicateDatabase as taken:
            raise SystemExit(f"{args.database} already exists and is not this run's: left as it is") from taken
    if not args.reuse:
        cleanup.callback(drop_database, args.server, args.database)
        return generate_into(args, env, spec)
    try:
        return generate_into(args, env, spec)
    except BaseException:
        # Half generated, without the comment that lets a later run reuse it: not worth keeping.
        drop_database(args.server, args.database)
        raise


def generate_into(args: argparse.Namespace, env: dict[str, str], spec: str) -> dict[str, Any]:
    started = time.monotonic()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    migrated = time.monotonic() - started
    log(f"Migrated in {migrated:.1f} s; generating {args.size:,} curated quotes (seed {args.seed})")
    process = subprocess.Popen(  # noqa: S603 (our own module, integer arguments)
        [sys.executable, "-m", "bench.generate", "--size", str(args.size), "--seed", str(args.seed)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = []
    shown = 0.0
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if time.monotonic() - shown > 15 or not line.startswith("  "):  # progress every 15 s
            log(lines[-1])
            shown = time.monotonic()
    if process.wait() != 0:
        raise SystemExit(f"the workload generator failed ({process.returncode})")
    generated = json.loads(lines[-1])
    generated["migrate_seconds"] = round(migrated, 1)
    with admin_connection(args.server) as admin:
        comment = f"{spec} {json.dumps(generated)}".replace("'", "")
        admin.execute(f"COMMENT ON DATABASE \"{args.database}\" IS '{comment}'")
    return generated


def context() -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH, as a developer runs it)
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "postgresql": version.split(" on ")[0],
        "shared_buffers": shared_buffers,
        "gunicorn_workers": int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2 + 1),
        "commit": commit,
    }


def table(rows: list[Any]) -> str:
    headers = ["job", "figure", "floor", "ratio", "target", "result"]
    cells = [[row.job, row.figure, row.floor, row.ratio, row.target, "pass" if row.passed else "MISS"] for row in rows]
    lines = []
    # A Markdown table: readable in a terminal, pasteable into an issue.
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    for row in cells:
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes; never fails on a miss")
    parser.add_argument("--reuse", action="store_true", help="keep a bench database generated with the same spec")
    parser.add_argument("--size", type=int, help="curated quotes (default 1,000,000; 10,000 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE"),
        help=f"default demarche_bench_<pid>, dropped at the end; {REUSED_DATABASE} with --reuse",
    )
    parser.add_argument("--server", default=os.environ.get("BENCH_POSTGRES", DEFAULT_SERVER), help="PostgreSQL URL")
    parser.add_argument("--only", help=f"comma-separated jobs: {','.join(JOBS)}")
    args = parser.parse_args(argv)
    if args.only and (unknown := set(args.only.split(",")) - set(JOBS)):
        parser.error(f"unknown jobs: {', '.join(sorted(unknown))} (the jobs: {', '.join(JOBS)})")
    args.size = args.size or (10_000 if args.quick else 1_000_000)
    args.database = args.database or (REUSED_DATABASE if args.reuse else f"demarche_bench_{os.getpid()}")
    with contextlib.ExitStack() as cleanup:
        return run(args, cleanup)


def run(args: argparse.Namespace, cleanup: contextlib.ExitStack) -> int:
    mode = "quick" if args.quick else "full"
    started = time.monotonic()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{args.server}/{args.database}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    generated = prepare_database(args, env, cleanup)

    import django

    django.setup()
    from . import jobs
    from .server import collectstatic, gunicorn

    sizes = jobs.QUICK if args.quick else jobs.FULL
    only = set(args.only.split(",")) if args.only else set(JOBS)
    rows: list[jobs.Row] = []
    failures: list[str] = []

    def attempt(name: str, job: Any, *job_args: Any) -> None:
        if name not in only:
            return
        log(f"Running {name} …")
        try:
            row = job(*job_args)
        except Exception:
            failures.append(name)
            traceback.print_exc()
            return
        rows.append(row)
        log(f"  {row.figure}  |  floor: {row.floor}  |  {row.ratio}  {'pass' if row.passed else 'MISS'}")

    run_context = context()
    if only & set(SERVER_JOBS):
        collectstatic(env)
        with gunicorn(env) as server:
            log(f"gunicorn on {server.url}, log {server.log}")
            attempt("annotate", jobs.annotate_page, server, sizes)
            attempt("speaker", jobs.speaker_page, server, sizes)
            attempt("create", jobs.create_quote, server, sizes, args.seed)
            attempt("api", jobs.api_list, server, sizes)
            attempt("stats", jobs.stats_over_time, server, sizes)
            attempt("compare", jobs.stats_compare, server, sizes)
            # Last with the server: its worker's load and its (deleted) import touch no job before it.
            attempt("detect-import", jobs.detect_import, server, sizes, env, args.seed)
    attempt("export", jobs.export_jsonl, sizes, env)
    attempt("import", jobs.import_articles, sizes, env, args.seed)
    attempt("detector", jobs.detect_articles, sizes, args.seed)
    run_context["load_average_after"] = os.getloadavg()

    elapsed = time.monotonic() - started
    print()
    print(
        f"Demarche bench ({mode}): {generated['quotes']:,} quotes ({args.size:,} curated) in "
        f"{generated['articles']:,} articles, generated in {generated['total_seconds']:.0f} s; "
        f"{run_context['cpus']} cores, load average {run_context['load_average'][0]:.1f} before and "
        f"{run_context['load_average_after'][0]:.1f} after; {run_context['postgresql']}; {elapsed:.0f} s in all."
    )
    print(table(rows))
    missed = [row.job for row in rows if not row.passed]
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}-{mode}.json"
    path.write_text(
        json.dumps(
            {
                "mode": mode,
                "generated": generated,
                "context": run_context,
                "seconds": round(elapsed, 1),
                "rows": [row.__dict__ for row in rows],
                "failed_to_run": failures,
            },
            indent=2,
            ensure_ascii=False,
            default=str,
        )
    )
    print(f"\nWritten to {path.relative_to(ROOT)}")
    if failures:
        print(f"Failed to run: {', '.join(failures)}")
        return 2
    if missed:
        print(f"Missed: {'; '.join(missed)}" + (" (quick mode: not a failure)" if args.quick else ""))
        return 0 if args.quick else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
