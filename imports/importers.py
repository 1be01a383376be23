"""Imports: a JSON array file read as a stream, its items checked and written in batches.

The file is read twice, item by item (ijson's C parser; memory stays flat whatever the file's size): first to count
its items and prove it is a well-formed JSON array, so that a broken file fails before anything is written; then to
import them. Each batch's writes and the job's checkpoint commit together, so a runner that takes over a job whose
worker died skips exactly the items already written.
"""

import itertools
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

import ijson
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, transaction

from imports.actions import Progress, Result, do_advance_job, do_hold_job, do_renew_lease, relax_commit
from imports.items import ItemError, clean_channel, clean_member, clean_message, clean_user
from imports.jobs import JobFailed, JobRunner, batches
from imports.models import JobType
from imports.writers import check_import_channels, check_import_members, check_import_messages, check_import_users

RENEW_EVERY = 50_000  # items counted between two renewals of the lease


def _open(path: str) -> IO[bytes]:
    try:
        return default_storage.open(path, "rb")
    except FileNotFoundError:
        raise JobFailed("The uploaded file is gone from the storage.") from None


def _require_array(stream: IO[bytes]) -> None:
    """The file's first meaningful character opens an array."""
    head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    stream.seek(0)
    if not head:
        raise JobFailed("The file is empty: it must hold a JSON array of items.")
    if not head.startswith(b"["):
        raise JobFailed("The file must hold a JSON array of items (it does not start with '[').")


def items_of(stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    """The file's items with their rows (from 1), parsed one at a time; JobFailed if the file is not a JSON array."""
    _require_array(stream)
    try:
        yield from enumerate(ijson.items(stream, "item", use_float=True), start=1)
    except ijson.JSONError as error:
        raise JobFailed(f"The file is not valid JSON: {error}.") from None


def count_items(stream: IO[bytes], every: Callable[[], None] | None = None) -> int:
    """How many items the file holds, reading all of it (``every`` is called every ``RENEW_EVERY`` items)."""
    count = 0
    for count, _ in items_of(stream):
        if every is not None and count % RENEW_EVERY == 0:
            every()
    return count


class ImportRunner(JobRunner):
    """Runs the four imports: count, then batches of ``clean`` (per item, no database) and ``write`` (per batch)."""

    job_types: ClassVar[tuple[str, ...]] = (
        JobType.USER_IMPORT,
        JobType.CHANNEL_IMPORT,
        JobType.CHANNEL_MEMBERS_IMPORT,
        JobType.MESSAGE_IMPORT,
    )

    def clean(self, raw: Any, row: int) -> Any:
        """Check one raw item (raises ItemError)."""
        job_type = self.job.type
        if job_type == JobType.USER_IMPORT:
            return clean_user(raw, row)
        if job_type == JobType.CHANNEL_IMPORT:
            return clean_channel(raw, row)
        if job_type == JobType.CHANNEL_MEMBERS_IMPORT:
            assert self.job.channel_id is not None  # noqa: S101  (members jobs are made with their channel)
            return clean_member(raw, row, channel_id=self.job.channel_id)
        return clean_message(raw, row)

    def write(self, items: list[Any]) -> dict[int, Result]:
        """Write a batch of checked items."""
        job_type, application = self.job.type, self.job.application
        if job_type == JobType.USER_IMPORT:
            return check_import_users(application, items)
        if job_type == JobType.CHANNEL_IMPORT:
            return check_import_channels(application, items)
        if job_type == JobType.CHANNEL_MEMBERS_IMPORT:
            assert self.job.channel is not None  # noqa: S101  (members jobs are made with their channel)
            return check_import_members(self.job.channel, items)
        return check_import_messages(application, items)

    def work(self) -> str:
        """Count the items (once), then import those after the checkpoint."""
        job = self.job
        if job.total is None:
            with _open(job.source) as stream:
                total = count_items(stream, every=lambda: do_renew_lease(job))
            with transaction.atomic():
                do_hold_job(job)
                do_advance_job(job, Progress(), total=total)
            self.report()
        with _open(job.source) as stream:
            rows = itertools.islice(items_of(stream), job.processed, None)
            for batch in batches(rows, settings.PARLEY_IMPORT_BATCH_SIZE):
                self._import(batch)
                self.report()
        return ""

    def _import(self, batch: list[tuple[int, Any]]) -> None:
        """Check the batch's items, then write them and advance the checkpoint in one transaction."""
        progress = Progress()
        checked = []
        for row, raw in batch:
            try:
                checked.append(self.clean(raw, row))
            except ItemError as error:
                progress.add(row, error)
        try:
            self._commit(checked, progress, one_by_one=False)
        except IntegrityError:
            # Another import wrote one of these items meanwhile: done again, the batch sees it and skips it.
            self._commit(checked, progress, one_by_one=False)
        except DataError:
            # The database refused a value no check foresaw: item by item, so that only that item fails.
            self._commit(checked, progress, one_by_one=True)

    def _commit(self, checked: list[Any], progress: Progress, *, one_by_one: bool) -> None:
        with transaction.atomic():
            do_hold_job(self.job)
            relax_commit()
            results = self.write(checked) if not one_by_one else self._write_each(checked)
            step = Progress(progress.processed, progress.created, progress.skipped, list(progress.errors))
            for row, result in sorted(results.items()):
                step.add(row, result)
            step.errors.sort(key=lambda failed: failed[0])
            do_advance_job(self.job, step)

    def _write_each(self, checked: list[Any]) -> dict[int, Result]:
        results: dict[int, Result] = {}
        for item in checked:
            try:
                with transaction.atomic():
                    results.update(self.write([item]))
            except DataError as error:
                results[item.row] = ItemError("item", f"The database refused this item: {str(error).strip()}")
        return results
