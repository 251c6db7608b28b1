"""A large audit corpus made by replaying real captured events with fresh keys on many hosts.

Seed logs (by default the kernel captures under `tests/auditd/captures/`) are grouped into events
by their header's (node, timestamp, serial). Each generated event is one seed event replayed
verbatim except for its key: a fresh `node=hostN ` prefix (replacing any prefix the seed line had),
a fresh timestamp from a clock that only moves forward, and the host's next serial. Events are
drawn by category (`MIX`: mostly file opens, ~1% execve, some connects and user-space records).

Unless `--verbatim`, the SYSCALL record of each event gets a fresh `a1` (a pointer on real hosts,
so no two SYSCALL bodies repeat, as on a real host) and a `pid`/`ppid` from a per-host table of
live processes. A process keeps one identity for its life, as on a real host: its SYSCALL
context (`CONTEXT_FIELDS`: exe, comm, uids and gids, auid, ses, tty, subj) is that of the seed
event that made it, and every event given to it is a seed event of that same identity. The table
is cut into slots per identity, sized in proportion to how often that identity's events are
drawn (`PROCESSES` in all, at least one slot each); at the start every slot holds a process that
was already running (`ppid=1`). Each seed event runs in one of three ways (`RUNS_IN`):
- `live`: an event of a live process of its identity (every non-execve event);
- `exec`: a successful execve: a fresh child of any live process of the host, whose identity
  becomes the execve's (a process's image changes only through its own execve);
- `fork`: a failed execve: a fresh child of a live process of the same identity (a forked child
  has its parent's image and a failed execve leaves it so; in the seed these are helpers of
  useradd and friends trying PATH entries).
A fresh child takes the place of the oldest process of its identity's slots, which is never seen
again (it exited). So a pid's exe, comm, uid, auid, ses and tty never change within a corpus.
PATH, CWD, PROCTITLE and user-space records stay verbatim: they recur on real hosts too, but a
small seed makes them recur more than a real host would.

Interleaving is learned from the seed: an event is "interleaved" when later events start before
its last record; it is described by (tail, span) = how many of its records come after the first
foreign one, and how many later events start in between. The generator interleaves the same
fraction of events with shapes drawn from that list: it holds back the event's last `tail` records
until `span` more events of the same host have been written.

Deterministic for a given seed and seed logs; streams in constant memory; writes plain, gzip or
zstd. `python -m bench.corpus --records 2000000 --hosts 8 --out bench/out/corpus.log`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import zstandard

from detect.auditd.interpret import record_interpreted
from detect.auditd.reassemble import is_standalone
from detect.auditd.record import ENRICHED_SEPARATOR, Record, parse_line
from detect.core.errors import ParseError
from detect.sources.lines import iter_lines

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "tests" / "auditd" / "captures"
DEFAULT_OUT = ROOT / "bench" / "out" / "corpus.log"
SEED_NAME = re.compile(r"\.log(\.\d+)?(\.(gz|bz2|xz|zst|zstd))?$")
# Share of events per category; a category the seed lacks is left out and the rest rescaled.
MIX: Mapping[str, float] = {
    "file": 0.935,
    "execve": 0.01,
    "connect": 0.03,
    "user": 0.02,
    "other": 0.005,
}
EXEC_SYSCALLS = frozenset(("execve", "execveat"))
# The SYSCALL fields that make a process's identity: fixed for the life of a generated process.
CONTEXT_FIELDS = (
    "exe",
    "comm",
    "uid",
    "gid",
    "euid",
    "suid",
    "fsuid",
    "egid",
    "sgid",
    "fsgid",
    "auid",
    "ses",
    "tty",
    "subj",
)
# How an event finds its process (see the module docstring).
LIVE = "live"  # a live process of the event's identity
EXEC = "exec"  # a fresh child of any live process; the child takes the event's identity
FORK = "fork"  # a fresh child of a live process of the event's identity (a failed execve)
RUNS_IN = (LIVE, EXEC, FORK)
NET_SYSCALLS = frozenset(("connect", "bind", "accept", "accept4", "listen", "sendto", "sendmsg"))
RATE = 1000.0  # events per second per host, in audit time: sets how many events are in flight
WHEEL = 10_000  # resolution of the category draw
CHUNK_LINES = 8192
SERIAL_START = (1_000, 1_000_000)  # each host's first serial is drawn from this range
COMPRESSORS = ("none", "gz", "zst")
VERSION = 3  # bump when the same recipe would give different lines: `--reuse` then regenerates
VOLATILE_RE = re.compile(r" (pid|ppid|a1)=([0-9a-f]+)(?=\s|$)")  # varied in SYSCALL records
PROCESSES = 256  # live processes per host (at least one per identity, so a few more)
PID_START = (2_000, 200_000)
PID_MAX = 4_194_304  # the kernel's pid_max on 64-bit
POINTER_BASE = 0x7F0000000000
GZIP_LEVEL = 3
ZSTD_LEVEL = 3

Template = tuple[str, str]  # a seed line without its node prefix, cut around `stamp:serial`
Format = tuple[str, str, bool]  # head, tail (a format string when the flag is set), flag
Identity = tuple[tuple[str, str], ...]  # (field, raw value) of the CONTEXT_FIELDS a SYSCALL has
Process = tuple[str, str]  # (pid, ppid) of a live process


@dataclass(frozen=True)
class SeedEvent:
    """One event of a seed log: its record lines as templates, its category, where it came from."""

    category: str
    types: tuple[str, ...]
    templates: tuple[Template, ...]
    origin: str  # path:line of its first record
    formats: tuple[Format, ...] = ()
    varied: bool = False  # some record has fields that get fresh values
    identity: int = -1  # index in `Seed.identities` of its SYSCALL's context; -1: no SYSCALL
    runs_in: str = LIVE  # how it finds its process when varied: one of RUNS_IN


@dataclass
class Seed:
    """Seed events by category, and the interleaving shapes (tail, span) observed among them."""

    pools: dict[str, list[SeedEvent]]
    shapes: list[tuple[int, int]]
    events: int
    unparsed: int
    start_ms: int
    files: list[str]
    identities: dict[Identity, int] = field(default_factory=dict)  # identity -> its index

    @property
    def interleave_rate(self) -> float:
        return len(self.shapes) / self.events if self.events else 0.0


@dataclass(frozen=True)
class Options:
    records: int = 2_000_000
    hosts: int = 8
    seed: int = 1
    rate: float = RATE
    interleave: float | None = None  # fraction of events interleaved; None: as in the seed
    verbatim: bool = False  # keep pid, ppid, a1 as in the seed
    mix: Mapping[str, float] = field(default_factory=lambda: dict(MIX))


@dataclass
class CorpusStats:
    records: int = 0
    events: int = 0
    interleaved: int = 0
    forked: int = 0  # fresh children (execve events)
    by_category: dict[str, int] = field(default_factory=dict)
    first_ms: int = 0
    last_ms: int = 0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# Seed side ---------------------------------------------------------------------------------


def seed_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders give their `*.log*` files (captures sit beside their `.md`)."""
    out: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if SEED_NAME.search(p.name)))
        else:
            out.append(path)
    return out


def cut_line(record: Record) -> Template:
    """(`type=T msg=audit(`, `): body\\n`): the line around its key, without any prefix."""
    line = record.line.removesuffix("\n")  # kept by some versions of parse_line
    start = line.find("type=")
    open_at = line.find("audit(", start) + 6
    close_at = line.find("):", open_at)
    return line[start:open_at], line[close_at:] + "\n"


def mask_volatile(tail: str) -> str:
    """A SYSCALL tail with pid, ppid and a1 replaced by `*`: what stays equal when replayed."""
    return VOLATILE_RE.sub(lambda match: f" {match.group(1)}=*", tail)


def tail_format(rtype: str, tail: str) -> str | None:
    """A SYSCALL tail as a format string with {pid}, {ppid}, {a1}; None when nothing varies."""
    if rtype != "SYSCALL":
        return None
    raw, sep, enriched = tail.partition(ENRICHED_SEPARATOR)
    escaped = raw.replace("{", "{{").replace("}", "}}")
    text, count = VOLATILE_RE.subn(lambda match: f" {match.group(1)}={{{match.group(1)}}}", escaped)
    if not count:
        return None
    return text + sep + enriched.replace("{", "{{").replace("}", "}}")


def process_context(syscall: Record) -> Identity:
    """The SYSCALL record's identity fields as (name, raw value), in CONTEXT_FIELDS order."""
    fields = syscall.fields
    return tuple((name, fields[name]) for name in CONTEXT_FIELDS if name in fields)


def way_to_run(category: str, syscall: Record) -> str:
    """LIVE, EXEC (a successful execve) or FORK (a failed one): see the module docstring."""
    if category != "execve":
        return LIVE
    return FORK if syscall.fields.get("success") == "no" else EXEC


def categorize(records: Sequence[Record]) -> str:
    types = {record.type for record in records}
    syscall = next((record for record in records if record.type == "SYSCALL"), None)
    name = record_interpreted(syscall).get("SYSCALL") if syscall is not None else None
    if "EXECVE" in types or name in EXEC_SYSCALLS:
        return "execve"
    if "SOCKADDR" in types or name in NET_SYSCALLS:
        return "connect"
    if syscall is None:
        return "user" if is_standalone(records[0].type) else "other"
    return "file" if "PATH" in types else "other"


@dataclass
class _Group:
    records: list[Record] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)


def group_file(path: Path) -> tuple[list[_Group], int]:
    """A seed file's events in order of their first record, and how many lines did not parse."""
    groups: dict[tuple[str | None, str, int], _Group] = {}
    unparsed = 0
    for position, (text, source, lineno) in enumerate(iter_lines([str(path)])):
        try:
            record = parse_line(text, source, lineno)
        except ParseError:
            unparsed += 1
            continue
        group = groups.setdefault((record.node, record.stamp, record.serial), _Group())
        group.records.append(record)
        group.positions.append(position)
    return list(groups.values()), unparsed


def interleave_shape(groups: Sequence[_Group], index: int) -> tuple[int, int] | None:
    """(tail, span) of an event that later events start inside of; None when it is contiguous."""
    positions = groups[index].positions
    span = 0
    while index + span + 1 < len(groups) and groups[index + span + 1].positions[0] < positions[-1]:
        span += 1
    if not span:
        return None
    cut = groups[index + 1].positions[0]
    return sum(1 for position in positions if position > cut), span


def load_seed(paths: Iterable[str | Path] = (SEED_DIR,)) -> Seed:
    files = seed_files(paths)
    seed = Seed({}, [], 0, 0, 0, [str(path) for path in files])
    starts: list[int] = []
    for path in files:
        groups, unparsed = group_file(path)
        seed.unparsed += unparsed
        for index, group in enumerate(groups):
            _add_event(seed, group)
            shape = interleave_shape(groups, index)
            if shape is not None:
                seed.shapes.append(shape)
            starts.append(group.records[0].time_ms)
    if not seed.events:
        raise SystemExit(f"no audit events in the seed logs: {', '.join(seed.files) or 'none'}")
    seed.start_ms = min(starts) // 1000 * 1000
    return seed


def _add_event(seed: Seed, group: _Group) -> None:
    records = group.records
    templates = tuple(cut_line(record) for record in records)
    formats: list[Format] = []
    for record, (head, tail) in zip(records, templates, strict=True):
        varied = tail_format(record.type, tail)
        formats.append((head, varied, True) if varied else (head, tail, False))
    category = categorize(records)
    syscall = next((record for record in records if record.type == "SYSCALL"), None)
    identity = -1
    if syscall is not None:
        identity = seed.identities.setdefault(process_context(syscall), len(seed.identities))
    event = SeedEvent(
        category=category,
        types=tuple(record.type for record in records),
        templates=templates,
        origin=str(records[0].location),
        formats=tuple(formats),
        varied=any(flag for _, _, flag in formats),
        identity=identity,
        runs_in=way_to_run(category, syscall) if syscall is not None else LIVE,
    )
    seed.pools.setdefault(event.category, []).append(event)
    seed.events += 1


# Generation --------------------------------------------------------------------------------


class _Host:
    __slots__ = (
        "count",
        "cursors",
        "next_pid",
        "pending",
        "prefix",
        "processes",
        "serial",
        "slots",
    )

    def __init__(self, name: str, rng: random.Random, slots: Sequence[range]) -> None:
        self.prefix = f"node={name} "
        self.serial = rng.randrange(*SERIAL_START)
        self.count = 0  # events written so far
        self.pending: list[tuple[int, list[str]]] = []  # (due count, held-back tail lines)
        self.slots = slots  # per identity, its slots in `processes`
        size = slots[-1].stop if slots else 0
        self.next_pid = rng.randrange(*PID_START)
        self.processes: list[Process] = [(str(self.next_pid + n), "1") for n in range(size)]
        self.next_pid += size
        self.cursors = [0] * len(slots)  # per identity, the slot its next child replaces (oldest)

    def process(self, identity: int, how: str, pick: float) -> Process:
        """(pid, ppid) of a live process of `identity`, or of a fresh child (EXEC, FORK)."""
        slots, processes = self.slots[identity], self.processes
        if how == LIVE:
            return processes[slots[int(pick * len(slots))]]
        if how == EXEC:
            parent = processes[int(pick * len(processes))]
        else:
            parent = processes[slots[int(pick * len(slots))]]
        self.next_pid = self.next_pid + 1 if self.next_pid < PID_MAX else PID_START[0]
        child = (str(self.next_pid), parent[0])
        cursor = self.cursors[identity]
        processes[slots[cursor]] = child
        self.cursors[identity] = (cursor + 1) % len(slots)
        return child

    def release(self, out: list[str]) -> None:
        """Write the held-back tails whose span has passed."""
        keep: list[tuple[int, list[str]]] = []
        for due, lines in self.pending:
            if due <= self.count:
                out.extend(lines)
            else:
                keep.append((due, lines))
        self.pending = keep


def category_wheel(seed: Seed, mix: Mapping[str, float]) -> list[list[SeedEvent]]:
    """WHEEL slots, each a category's pool, in proportion to the mix (known categories only)."""
    weights = {name: share for name, share in mix.items() if share > 0 and seed.pools.get(name)}
    if not weights:
        raise SystemExit(f"the seed has no events of the categories {sorted(mix)}")
    total = sum(weights.values())
    wheel: list[list[SeedEvent]] = []
    for name, share in weights.items():
        wheel.extend([seed.pools[name]] * round(WHEEL * share / total))
    return wheel


def process_slots(seed: Seed, wheel: Sequence[list[SeedEvent]]) -> list[range]:
    """Per identity (by index), its slots in a host's process table: about PROCESSES in all.

    An identity's share is how often events of live processes (LIVE) of that identity are drawn,
    so every live process gets about as many events; identities met only in execve events get one
    slot, which their fresh children take over.
    """
    draws: dict[int, int] = {}  # id(pool) -> wheel slots
    pools: dict[int, list[SeedEvent]] = {}
    for pool in wheel:
        draws[id(pool)] = draws.get(id(pool), 0) + 1
        pools[id(pool)] = pool
    weight = [0.0] * len(seed.identities)
    for key, pool in pools.items():
        for event in pool:
            if event.varied and event.runs_in == LIVE:
                weight[event.identity] += draws[key] / len(pool)
    total = sum(weight) or 1.0
    slots: list[range] = []
    start = 0
    for share in weight:
        size = max(1, round(PROCESSES * share / total))
        slots.append(range(start, start + size))
        start += size
    return slots


class Replayer:
    """Streams the corpus as chunks of lines; `stats` fills in as it goes."""

    def __init__(self, seed: Seed, options: Options) -> None:
        self.seed = seed
        self.options = options
        self.rng = random.Random(options.seed)
        self.wheel = category_wheel(seed, options.mix)
        slots = process_slots(seed, self.wheel)
        self.hosts = [
            _Host(f"host{number}", self.rng, slots) for number in range(1, options.hosts + 1)
        ]
        rate = seed.interleave_rate if options.interleave is None else options.interleave
        self.interleave = rate if seed.shapes else 0.0
        self.stats = CorpusStats(first_ms=seed.start_ms)

    def chunks(self) -> Iterator[list[str]]:
        # The hot loop: locals only, a few rng draws per event.
        hosts, wheel, random_ = self.hosts, self.wheel, self.rng.random
        stats, interleave, limit = self.stats, self.interleave, self.options.records
        by_category: dict[str, int] = {}
        out: list[str] = []
        for stamp in self._stamps():
            host = hosts[int(random_() * len(hosts))]
            pool = wheel[int(random_() * len(wheel))]
            event = pool[int(random_() * len(pool))]
            lines = self._render(event, host, stamp)
            if len(lines) > 1 and random_() < interleave:
                self._hold_back(host, lines)
            out += lines
            host.count += 1
            if host.pending:
                host.release(out)
            stats.records += len(event.templates)
            stats.events += 1
            by_category[event.category] = by_category.get(event.category, 0) + 1
            if len(out) >= CHUNK_LINES:
                yield out
                out = []
            if stats.records >= limit:
                break
        out.extend(self._drain())
        stats.by_category = dict(sorted(by_category.items()))
        if out:
            yield out

    def _stamps(self) -> Iterator[str]:
        """`SEC.MSEC:` of each next event: one clock for all hosts, exponential gaps."""
        expovariate, stats = self.rng.expovariate, self.stats
        mean_us = 1e6 / (self.options.rate * len(self.hosts))
        clock_us, last_ms, stamp = self.seed.start_ms * 1000, -1, ""
        while True:
            clock_us += int(expovariate(1.0) * mean_us)
            if clock_us // 1000 != last_ms:
                last_ms = stats.last_ms = clock_us // 1000
                stamp = f"{last_ms // 1000}.{last_ms % 1000:03d}:"
            yield stamp

    def _render(self, event: SeedEvent, host: _Host, stamp: str) -> list[str]:
        """The event's lines with this host's prefix and next serial (and fresh pid, a1)."""
        host.serial += 1
        key, prefix = stamp + str(host.serial), host.prefix
        if self.options.verbatim or not event.varied:
            return [prefix + head + key + tail for head, tail in event.templates]
        pid, ppid = host.process(event.identity, event.runs_in, self.rng.random())
        if event.runs_in != LIVE:
            self.stats.forked += 1
        values = {"pid": pid, "ppid": ppid, "a1": f"{POINTER_BASE | self.rng.getrandbits(40):x}"}
        return [
            prefix + head + key + (tail.format_map(values) if varied else tail)
            for head, tail, varied in event.formats
        ]

    def _hold_back(self, host: _Host, lines: list[str]) -> None:
        """Move the event's last records to the host's pending list, as seen in the seed."""
        shapes = self.seed.shapes
        tail_count, span = shapes[int(self.rng.random() * len(shapes))]
        cut = len(lines) - min(tail_count, len(lines) - 1)
        host.pending.append((host.count + 1 + span, lines[cut:]))
        del lines[cut:]
        self.stats.interleaved += 1

    def _drain(self) -> list[str]:
        out: list[str] = []
        for host in self.hosts:
            for _, lines in host.pending:
                out.extend(lines)
            host.pending = []
        return out


def iter_corpus(seed: Seed, options: Options) -> Iterator[str]:
    """The corpus line by line (each ends with a newline): for tests and `--dry`."""
    for chunk in Replayer(seed, options).chunks():
        yield from chunk


# Output ------------------------------------------------------------------------------------


def output_path(out: Path, compress: str) -> Path:
    suffix = {"gz": ".gz", "zst": ".zst"}.get(compress, "")
    return out if not suffix or out.name.endswith(suffix) else out.with_name(out.name + suffix)


def guess_compression(out: Path) -> str:
    if out.name.endswith(".gz"):
        return "gz"
    if out.name.endswith((".zst", ".zstd")):
        return "zst"
    return "none"


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


def open_output(path: Path, compress: str) -> Sink:
    if compress == "gz":
        return gzip.open(path, "wb", compresslevel=GZIP_LEVEL)
    raw = open(path, "wb")  # noqa: SIM115 - returned to the caller, who closes it
    if compress == "zst":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).stream_writer(raw)
    return raw


def write_corpus(replayer: Replayer, out: Path, compress: str) -> None:
    """Write atomically (a half-written corpus is never left under the final name)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with closing(open_output(partial, compress)) as stream:
        for chunk in replayer.chunks():
            stream.write("".join(chunk).encode("utf-8", "surrogateescape"))
    partial.replace(out)


def metadata_path(out: Path) -> Path:
    return out.with_name(out.name + ".json")


def seed_digest(files: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()


def recipe(seed: Seed, options: Options, compress: str) -> dict[str, object]:
    """What decides a corpus's content: equal recipes give byte-identical corpora."""
    out = asdict(options)
    out["version"] = VERSION
    out["mix"] = dict(options.mix)
    out["compress"] = compress
    out["seed_digest"] = seed_digest(seed.files)
    return out


def is_current(out: Path, wanted: dict[str, object]) -> bool:
    """The corpus exists and its metadata says it was made from the same recipe."""
    meta = metadata_path(out)
    if not (out.exists() and meta.exists()):
        return False
    try:
        return bool(json.loads(meta.read_text(encoding="utf-8")).get("recipe") == wanted)
    except (OSError, ValueError):
        return False


def describe(seed: Seed, replayer: Replayer, wanted: dict[str, object]) -> dict[str, object]:
    """What a corpus was made from and of: written beside it, read back by `bench.run`."""
    return {
        "recipe": wanted,
        "interleave": replayer.interleave,
        "seed_files": seed.files,
        "seed_events": seed.events,
        "seed_unparsed": seed.unparsed,
        "stats": replayer.stats.to_dict(),
    }


# Command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.corpus", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--records", type=int, default=Options.records)
    parser.add_argument("--hosts", type=int, default=Options.hosts)
    parser.add_argument("--seed", type=int, default=Options.seed, help="random seed")
    parser.add_argument("--rate", type=float, default=RATE, help="events/s per host (audit time)")
    parser.add_argument(
        "--interleave",
        type=float,
        default=None,
        help="fraction of events interleaved (default: as in the seed logs)",
    )
    parser.add_argument(
        "--seed-logs", nargs="+", default=[str(SEED_DIR)], help="seed logs or folders"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--compress", choices=COMPRESSORS, default=None, help="default: from --out")
    parser.add_argument(
        "--verbatim", action="store_true", help="keep pid, ppid, a1 of SYSCALL records as seeded"
    )
    parser.add_argument("--dry", action="store_true", help="generate and count, write nothing")
    parser.add_argument("--reuse", action="store_true", help="keep --out if made the same way")
    args = parser.parse_args(argv)
    if args.records < 1 or args.hosts < 1 or args.rate <= 0:
        parser.error("--records, --hosts and --rate must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    seed = load_seed(args.seed_logs)
    options = Options(
        args.records, args.hosts, args.seed, args.rate, args.interleave, args.verbatim
    )
    replayer = Replayer(seed, options)
    compress = args.compress or guess_compression(args.out)
    out = output_path(args.out, compress)
    wanted = recipe(seed, options, compress)
    if args.reuse and not args.dry and is_current(out, wanted):
        sys.stderr.write(f"{out}: up to date\n")
        return 0
    started = time.perf_counter()
    if args.dry:
        for _ in replayer.chunks():
            pass
    else:
        write_corpus(replayer, out, compress)
        text = json.dumps(describe(seed, replayer, wanted), indent=2) + "\n"
        metadata_path(out).write_text(text, encoding="utf-8")
    seconds = time.perf_counter() - started
    stats = replayer.stats
    where = "nothing written (--dry)" if args.dry else str(out)
    sys.stderr.write(
        f"{stats.records:,} records, {stats.events:,} events ({stats.interleaved:,} interleaved) "
        f"on {options.hosts} hosts from {seed.events} seed events: {where}; "
        f"{seconds:.1f}s, {stats.records / seconds:,.0f} records/s\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
