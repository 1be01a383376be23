"""Imports benchmark (issue 6): import a generated file of messages on a Celery worker, and in the same run copy the
same rows into the same table with PostgreSQL's own ``COPY``, the ceiling of any import.

Run ``.venv/bin/python -m bench.imports [--messages 1000000]`` (PostgreSQL from ``BENCH_DATABASE_URL``, default the
local server's ``parley_imports`` database, dropped and re-created; Redis from ``REDIS_URL``). It seeds an
application with 100 users and 50 channels, writes a JSON array file of ``--messages`` messages (senders, channels,
times and idempotency keys, ~170 bytes each), then:

- raw COPY: the same rows, prepared beforehand as COPY text, streamed into ``chat_message`` (with its indexes and
  constraints) by ``COPY … FROM STDIN``; then rolled back and the table vacuumed;
- import: the file uploaded as the Platform API does (``check_create_import_job``) and run by a Celery worker
  (``--concurrency 1``, as ``bin/run`` starts one): messages/s from the job's start to its end (counting pass
  included), and the peak resident memory of the worker process that ran it, sampled every 0.1 s.

Goal: the import reaches ≥ 25% of the raw COPY rate, with the worker under 300 MB.
"""

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

from bench.harness import celery_worker, migrated, recreate_database, rss_bytes

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/parley_imports"
USERS = 100
CHANNELS = 50


def seed(url: str) -> tuple[int, list[tuple[int, int]], list[int]]:
    """An application, its users and channels: the application id, (channel, main thread) ids, user ids."""
    migrated(url)
    from chat.actions.applications import check_create_application
    from chat.actions.channels import check_create_channel
    from chat.actions.users import check_create_user

    application, _ = check_create_application("imports")
    users = [check_create_user(application, name=f"user{n}") for n in range(USERS)]
    channels = [
        check_create_channel(application, channel_type="PUBLIC", name=f"channel{n}", members=users[:10])[0]
        for n in range(CHANNELS)
    ]
    return application.pk, [(c.pk, c.main_thread_pk) for c in channels], [u.pk for u in users]


def message(n: int, channels: list[tuple[int, int]]) -> tuple[int, int, datetime, str]:
    """The n-th message: its channel index, sender index, time and body."""
    sent = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
    return n % len(channels), (n * 7) % USERS, sent, f"Message number {n} of the history we are moving to Parley."


def write_files(folder: Path, count: int, application: int, channels: list[tuple[int, int]], users: list[int]) -> None:
    """The JSON array file to import and the same rows as COPY text."""
    with (folder / "messages.json").open("wb") as items, (folder / "messages.copy").open("w") as rows:
        items.write(b"[")
        for n in range(count):
            channel, sender, sent, body = message(n, channels)
            item = {
                "type": "TEXT",
                "channelId": channels[channel][0],
                "user": f"user{sender}",
                "body": body,
                "createdTime": sent.isoformat().replace("+00:00", "Z"),
                "idempotencyKey": f"m{n}",
            }
            items.write((b"," if n else b"") + orjson.dumps(item))
            rows.write(
                f"{application}\t{channels[channel][0]}\t{channels[channel][1]}\tTEXT\t{users[sender]}\t{body}\t"
                f"\\N\t\\N\t{{}}\t\\N\t0\t0\t0\t{sent.isoformat()}\t\\N\t\\N\tm{n}\n"
            )
        items.write(b"]")


COLUMNS = (
    "application_id, channel_id, thread_id, type, user_id, body, file, group_tag, properties, mentions, nested_level,"
    " replies_count, report_count, created_time, last_edited_time, sequence, import_key"
)


def raw_copy(url: str, folder: Path) -> float:
    """Seconds to COPY the prepared rows into the message table, every index and constraint checked (Django's foreign
    keys are deferred to the commit: here they are checked at once); then rolled back and the table vacuumed, so
    that the import finds it as it was."""
    dsn = url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn) as connection:
        started = time.perf_counter()
        with connection.cursor() as cursor, (folder / "messages.copy").open("rb") as rows:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            with cursor.copy(f"COPY chat_message ({COLUMNS}) FROM STDIN") as copy:  # noqa: S608  (fixed columns)
                while chunk := rows.read(1 << 20):
                    copy.write(chunk)
            cursor.execute("SELECT count(*) FROM chat_message")
            copied = cursor.fetchone()
        elapsed = time.perf_counter() - started
        connection.rollback()
        connection.autocommit = True
        connection.execute("VACUUM chat_message")
    print(f"raw COPY wrote {copied[0] if copied else 0} rows")
    return elapsed


def worker_rss(worker: int) -> int:
    """Resident memory of the worker's pool process (it runs the jobs)."""
    return rss_bytes(worker)


def import_file(url: str, folder: Path, application_id: int, count: int) -> tuple[float, int, list[int]]:
    """Seconds from the job's start to its end, the worker's peak RSS, and its RSS at each quarter of the job."""
    from django.core.files import File

    from chat.models import Application
    from imports.actions import check_create_import_job

    with celery_worker(url, concurrency=1) as worker:
        idle = worker_rss(worker)
        with (folder / "messages.json").open("rb") as source:
            job = check_create_import_job(
                Application.objects.get(pk=application_id), "MESSAGE_IMPORT", File(source, name="messages.json")
            )
        peak, quarters = idle, [idle]
        while True:
            time.sleep(0.1)
            rss = worker_rss(worker)
            peak = max(peak, rss)
            job.refresh_from_db()
            if job.total and job.processed >= len(quarters) * job.total / 4:
                quarters.append(rss)
            if job.state in ("FINISHED", "FAILED"):
                break
    if job.state != "FINISHED" or job.created != count:
        raise RuntimeError(f"the import ended {job.state} with {job.created} of {count} created: {job.reason}")
    assert job.started_time is not None  # noqa: S101
    assert job.ended_time is not None  # noqa: S101
    return (job.ended_time - job.started_time).total_seconds(), peak, quarters


def main() -> None:
    """Seed, write the files, copy, import, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    state = tempfile.mkdtemp(prefix="parley-bench-imports-")
    os.environ["PARLEY_STATE_DIR"] = state  # the uploaded file, shared by this process and the worker

    recreate_database(url)
    application, channels, users = seed(url)
    folder = Path(state)
    started = time.perf_counter()
    write_files(folder, args.messages, application, channels, users)
    size = (folder / "messages.json").stat().st_size
    print(f"wrote {args.messages} messages ({size / 1e6:.0f} MB of JSON) in {time.perf_counter() - started:.0f} s")
    copy_seconds = raw_copy(url, folder)
    import_seconds, peak, quarters = import_file(url, folder, application, args.messages)

    copy_rate, import_rate = args.messages / copy_seconds, args.messages / import_seconds
    print(f"\nImport of {args.messages} messages: a Celery worker --concurrency 1, {os.cpu_count()} CPUs")
    print(f"{'measure':<52}{'seconds':>9}{'msgs/s':>10}")
    print(f"{'raw PostgreSQL COPY of the same rows':<52}{copy_seconds:>9.1f}{copy_rate:>10.0f}")
    print(f"{'import job (counting pass, checks, batched writes)':<52}{import_seconds:>9.1f}{import_rate:>10.0f}")
    print(f"import rate / COPY rate: {100 * import_rate / copy_rate:.0f}% (goal >= 25%)")
    print(f"worker pool process RSS: peak {peak / 1e6:.0f} MB (goal < 300 MB); idle, then at each quarter of the job:")
    print("  " + " -> ".join(f"{rss / 1e6:.0f}" for rss in quarters) + " MB")


if __name__ == "__main__":
    main()
