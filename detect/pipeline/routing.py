"""Lines to the host each belongs to, in batches: the per-line part of a partitioned scan's
reading (detect.pipeline.hostscan), compiled with mypyc (detect/core/native.py)."""

from __future__ import annotations

from collections.abc import Iterator

from detect.sources.files import READ_ERRORS, Line

NO_HOST = ""


def host_of(line: str) -> str:
    """The host a line belongs to: its `node=` value, or `""` without one."""
    if not line.startswith("node="):
        return NO_HOST
    end = line.find(" ", 5)
    return line[5:end] if end >= 0 else NO_HOST


def batches(lines: Iterator[Line], size: int) -> Iterator[list[Line]]:
    """Lists of `size` lines; a read error (a truncated archive) comes after the lines before
    it."""
    batch: list[Line] = []
    try:
        for line in lines:
            batch.append(line)
            if len(batch) == size:
                yield batch
                batch = []
    except READ_ERRORS:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def by_host(batch: list[Line], unnamed: str = NO_HOST) -> dict[str, list[Line]]:
    """The lines of `batch` by host, in order, hosts in the order they come; a line without
    `node=` is `unnamed`'s (`--host`). A batch of one host (a host's own file) is checked by
    its lines' common prefix and returned whole."""
    if not batch:
        return {}
    first = host_of(batch[0][0])
    prefix = f"node={first} " if first else ""
    for line in batch:
        text = line[0]
        if not (text.startswith(prefix) if prefix else not text.startswith("node=")):
            return _split(batch, unnamed)
    return {first or unnamed: batch}


def _split(batch: list[Line], unnamed: str) -> dict[str, list[Line]]:
    out: dict[str, list[Line]] = {}
    for line in batch:
        host = host_of(line[0]) or unnamed
        found = out.get(host)
        if found is None:
            found = out[host] = []
        found.append(line)
    return out
