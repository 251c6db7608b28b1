"""The corpus generator: deterministic, fresh keys per host, parseable, seed shapes preserved."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from bench.corpus import (
    CONTEXT_FIELDS,
    EXEC,
    LIVE,
    PROCESSES,
    Options,
    Replayer,
    Seed,
    cut_line,
    iter_corpus,
    load_seed,
    mask_volatile,
    write_corpus,
)
from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.auditd.record import parse_line
from detect.sources.lines import iter_lines

SMALL = Options(records=3000, hosts=3, seed=7, interleave=0.1)
HOSTS = {"host1", "host2", "host3"}


@pytest.fixture(scope="module")
def seed() -> Seed:
    return load_seed()


@pytest.fixture(scope="module")
def lines(seed: Seed) -> list[str]:
    return list(iter_corpus(seed, SMALL))


def reassemble(lines: list[str]) -> tuple[list[AuditEvent], Reassembler]:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    for number, line in enumerate(lines, 1):
        machine.push(line, "corpus", number)
    machine.flush()
    return events, machine


def test_same_seed_gives_the_same_corpus(seed: Seed, lines: list[str]) -> None:
    assert list(iter_corpus(seed, SMALL)) == lines
    assert list(iter_corpus(seed, replace(SMALL, seed=8))) != lines
    assert len(lines) >= SMALL.records


def test_every_line_parses_with_one_host_prefix(lines: list[str]) -> None:
    for number, line in enumerate(lines, 1):
        record = parse_line(line, "corpus", number)
        assert record.node in HOSTS
        assert line.startswith(f"node={record.node} type=")


def test_serials_are_fresh_and_increasing_per_host(lines: list[str]) -> None:
    keys: dict[str | None, dict[int, int]] = defaultdict(dict)  # host -> serial -> time
    for line in lines:
        record = parse_line(line)
        keys[record.node].setdefault(record.serial, record.time_ms)
    assert set(keys) == HOSTS
    for per_host in keys.values():
        serials = sorted(per_host)
        assert serials == list(range(serials[0], serials[0] + len(serials)))
        times = [per_host[serial] for serial in serials]
        assert times == sorted(times)


def masked(templates: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((head, mask_volatile(tail)) for head, tail in templates)


@pytest.mark.parametrize("verbatim", [False, True])
def test_events_reassemble_into_the_seed_events_they_replay(seed: Seed, verbatim: bool) -> None:
    mask = masked if not verbatim else (lambda templates: templates)
    known = {mask(event.templates): event.types for pool in seed.pools.values() for event in pool}
    events, machine = reassemble(list(iter_corpus(seed, replace(SMALL, verbatim=verbatim))))
    stats = machine.stats
    assert (stats.unparsed, machine.lost, stats.late_records, stats.evicted) == (0, 0, 0, 0)
    for event in events:
        templates = tuple(cut_line(record) for record in event.records)
        assert known.get(mask(templates)) == tuple(event.types), event


def test_syscall_bodies_do_not_repeat_unless_verbatim(seed: Seed, lines: list[str]) -> None:
    bodies = [parse_line(line).body for line in lines if " type=SYSCALL " in line]
    assert len(set(bodies)) == len(bodies)
    verbatim = list(iter_corpus(seed, replace(SMALL, verbatim=True)))
    assert len({parse_line(line).body for line in verbatim if " type=SYSCALL " in line}) < 400


def test_an_execve_runs_in_a_fresh_child_and_later_events_reuse_it(seed: Seed) -> None:
    options = Options(records=10_000, hosts=2, mix={"execve": 0.3, "file": 0.7})
    lines = list(iter_corpus(seed, options))
    seen: dict[str | None, set[str]] = defaultdict(set)
    children: dict[str | None, set[str]] = defaultdict(set)
    reused = 0
    for line in lines:
        record = parse_line(line)
        if record.type != "SYSCALL":
            continue
        pid = record.fields["pid"]
        if record.fields["syscall"] == "59":
            assert pid not in seen[record.node]
            assert record.fields["ppid"] != pid
            children[record.node].add(pid)
        else:
            reused += pid in children[record.node]
        seen[record.node].add(pid)
    assert reused > 0


EXECVE_HEAVY = Options(
    records=20_000, hosts=2, seed=3, mix={"execve": 0.3, "file": 0.6, "connect": 0.1}
)


def syscalls(lines: list[str]) -> list[tuple[str | None, dict[str, str]]]:
    """(host, fields) of every SYSCALL record, in corpus order."""
    out = []
    for line in lines:
        record = parse_line(line)
        if record.type == "SYSCALL":
            out.append((record.node, record.fields))
    return out


def context(fields: dict[str, str]) -> tuple[str | None, ...]:
    return tuple(fields.get(name) for name in CONTEXT_FIELDS)


def is_exec(fields: dict[str, str]) -> bool:
    return fields["syscall"] in ("59", "322") and fields["success"] == "yes"


@pytest.mark.parametrize("options", [SMALL, EXECVE_HEAVY])
def test_a_pids_exe_changes_only_through_its_own_execve(seed: Seed, options: Options) -> None:
    """A real process's exe, comm, uids, auid, ses and tty change only when it execs."""
    known: dict[tuple[str | None, str], tuple[str | None, ...]] = {}
    execs = 0
    for host, fields in syscalls(list(iter_corpus(seed, options))):
        key, now = (host, fields["pid"]), context(fields)
        if is_exec(fields):
            assert key not in known, f"pid {key} execs after earlier events: not a fresh child"
            execs += 1
        elif key in known:
            assert known[key] == now, f"pid {key}: {known[key]} became {now} without an execve"
        known[key] = now
    assert execs > 0 and len(known) > PROCESSES


def test_a_failed_execve_runs_in_a_fork_of_a_process_of_its_identity(seed: Seed) -> None:
    """A forked child has its parent's image, and a failed execve leaves it so."""
    known: dict[tuple[str | None, str], tuple[str | None, ...]] = {}
    compared = 0
    for host, fields in syscalls(list(iter_corpus(seed, EXECVE_HEAVY))):
        if fields["syscall"] == "59" and fields["success"] == "no":
            assert (host, fields["pid"]) not in known
            parent = known.get((host, fields["ppid"]))
            if parent is not None:
                assert parent == context(fields)
                compared += 1
        known[(host, fields["pid"])] = context(fields)
    assert compared > 0


def test_the_process_table_stays_the_same_size(seed: Seed) -> None:
    """Every fresh child takes an exited process's place: memory stays constant."""
    replayer = Replayer(seed, EXECVE_HEAVY)
    before = [list(host.processes) for host in replayer.hosts]
    for _ in replayer.chunks():
        pass
    assert replayer.stats.forked > 0
    for host, start in zip(replayer.hosts, before, strict=True):
        assert len(host.processes) == len(start) >= PROCESSES
        assert len({pid for pid, _ in host.processes}) == len(host.processes)
        assert host.processes != start


def test_fresh_children_replace_the_oldest_processes_of_their_identity(seed: Seed) -> None:
    """The replaced processes have exited: no later event of their identity comes from them."""
    host = Replayer(seed, SMALL).hosts[0]
    identity = max(range(len(host.slots)), key=lambda index: len(host.slots[index]))
    slots = host.slots[identity]
    old = [host.processes[slot] for slot in slots]
    children = [host.process(identity, EXEC, 0.5) for _ in slots]
    assert [host.processes[slot] for slot in slots] == children
    assert not set(old) & set(host.processes)
    assert {host.process(identity, LIVE, n / 100) for n in range(100)} <= set(children)


def test_some_events_are_interleaved(seed: Seed, lines: list[str]) -> None:
    if not seed.shapes:
        pytest.skip("the seed logs have no interleaved events")
    last_at: dict[tuple[str | None, int], int] = {}
    split = 0
    for position, line in enumerate(lines):
        record = parse_line(line)
        key = (record.node, record.serial)
        split += key in last_at and last_at[key] != position - 1
        last_at[key] = position
    assert split > 0


def test_interleaving_shapes_are_learned_from_the_seed(tmp_path: Path) -> None:
    def line(serial: int, rtype: str) -> str:
        return f"type={rtype} msg=audit(1795316486.000:{serial}): pid={serial}\n"

    log = tmp_path / "seed.log"
    order = [(1, "SYSCALL"), (1, "CWD"), (2, "SYSCALL"), (1, "PATH"), (2, "CWD"), (1, "PROCTITLE")]
    log.write_text("".join(line(serial, rtype) for serial, rtype in order))
    seed = load_seed([log])
    assert seed.events == 2
    assert seed.shapes == [(2, 1)]  # two records of event 1 after event 2 starts


def test_compressed_output_reads_back(seed: Seed, tmp_path: Path) -> None:
    options = replace(SMALL, records=400)
    out = tmp_path / "corpus.log.zst"
    write_corpus(Replayer(seed, options), out, "zst")
    assert [text for text, _, _ in iter_lines([str(out)])] == list(iter_corpus(seed, options))
