"""Benchmark harness: records/s and peak RSS of each stage, in a fresh process pinned to one core.

`python -m bench.run [--records N] [--small M] [--corpus PATH] [--stages a,b] [--json FILE]`
generates the corpora when missing or stale (`bench.corpus`, into `bench/out/`), then runs every
stage of `STAGES` on each corpus in its own child process, pinned to core `CORE` (0, or
`BENCH_CORE` from the environment: two benchmarks at once each on a core of its own) with
`sched_setaffinity`, and reads the child's peak RSS from `wait4`. In-process stages time their
own loop (imports excluded); external commands are timed from outside (start-up included).

The driver stays small on purpose: a child's `ru_maxrss` includes its parent's memory at fork
time, so nothing heavy is imported here outside the worker functions.
`--profile STAGE` runs one in-process stage under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detect.core import native

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "bench" / "out"
DEFAULT_RECORDS = 2_000_000
DEFAULT_SMALL = 500_000
CORE = int(os.environ.get("BENCH_CORE", "0"))
RSS_LIMIT_MB = 150
# "flat in input size": a stage's peak RSS at the largest corpus at most this many times its
# peak RSS at the smallest (250k to 2M records: 8x the input)
FLAT_LIMIT = 1.10
PROFILE_TOP = 30
# Imported before the clock starts: start-up, not throughput. Only what a stage needs, since
# imports count in its peak RSS (pySigma and pydantic, for the scans, are ~0.2 s and ~30 MB).
WARM_IMPORTS = ("detect.auditd.export", "detect.auditd.reassemble", "detect.sources.lines")
SCAN_IMPORTS = (*WARM_IMPORTS, "detect.matching.engine", "detect.pipeline.factory")

Counts = dict[str, Any]


# Worker side: these run in the pinned child --------------------------------------------------


def body_read(corpus: str) -> Counts:
    """Baseline: the line source alone (open, decompress, decode, split)."""
    from detect.sources.lines import iter_lines

    lines = 0
    for _ in iter_lines([corpus]):
        lines += 1
    return {"records": lines, "events": 0}


# a key starts the line or follows a space (a lookbehind: no rescan inside long hex values)
NAIVE_FIELD = r"(?<![^ ])([^ =]+)=(\"[^\"]*\"|'[^']*'|\S*)"


def body_naive(corpus: str) -> Counts:
    """Reference: a naive Python parse of every line (a regex over every `key=value`, into a
    dict), grouping nothing and evaluating nothing (DESIGN §9's "naive parse")."""
    import re

    from detect.sources.lines import iter_lines

    findall = re.compile(NAIVE_FIELD).findall
    records = 0
    for line, _, _ in iter_lines([corpus]):
        if dict(findall(line)):
            records += 1
    return {"records": records, "events": 0}


def _reassemble(corpus: str, emit: Callable[[Any], object]) -> Counts:
    from detect.auditd.reassemble import Reassembler
    from detect.cli.runtime import tune_for_throughput
    from detect.sources.lines import iter_lines

    tune_for_throughput()  # as the command line does
    machine = Reassembler(emit)
    machine.feed(iter_lines([corpus]))
    machine.flush()
    stats = machine.stats
    return {
        "records": stats.records,
        "events": stats.events,
        "unparsed": stats.unparsed,
        "lost": machine.lost,
        "expired": stats.expired,
        "evicted": stats.evicted,
        "late_records": stats.late_records,
    }


def _discard(event: object) -> None:
    return None


def body_parse_reassemble(corpus: str) -> Counts:
    """(a) every line through `Reassembler.feed`; events are counted and dropped."""
    return _reassemble(corpus, _discard)


def body_interpret(corpus: str) -> Counts:
    """(b) (a) plus `event_to_dict` of every event: all fields, interpretations, ECS summary."""
    from detect.auditd.export import event_to_dict

    return _reassemble(corpus, event_to_dict)


SIGMA_LINUX = ("rules/linux", "rules-threat-hunting/linux", "rules-emerging-threats")


def _scan(corpus: str, rule_paths: Sequence[Path], default: bool) -> Counts:
    """The engine over every event (alerts built and dropped); loading the rules and building
    the engine's indexes are timed apart."""
    from detect.matching.engine import Engine
    from detect.pipeline.scan import Scan
    from detect.sigma.load import load_detections

    loading, cpu = time.perf_counter(), time.process_time()
    rules = load_detections(rule_paths, default=default)
    scan = Scan(Engine(rules.rules), _discard)
    loaded, loaded_cpu = time.perf_counter() - loading, time.process_time() - cpu
    counts = _reassemble(corpus, scan.on_event)
    counts.update(rules=scan.engine.applicable, alerts=scan.alerts, rule_load_seconds=loaded)
    counts["rule_load_cpu"] = loaded_cpu
    return counts


def body_scan_none(corpus: str) -> Counts:
    """(scan a) the engine with no rule: reassembly and the per-event engine overhead."""
    return _scan(corpus, (), default=False)


def body_scan_shipped(corpus: str) -> Counts:
    """(scan b) the shipped detections."""
    return _scan(corpus, (), default=True)


def body_scan_sigma(corpus: str) -> Counts:
    """(scan c) the shipped detections plus SigmaHQ's Linux rules (../shared/sigma)."""
    sigma = ROOT.parent / "shared" / "sigma"
    if not sigma.is_dir():
        raise SystemExit(f"{sigma} is absent: scan_sigma needs SigmaHQ's rules beside the repo")
    return _scan(corpus, [sigma / part for part in SIGMA_LINUX], default=True)


def body_scan_corr(corpus: str) -> Counts:
    """(scan d) the shipped detections with their correlations, as `detect scan` runs them."""
    from detect.pipeline.factory import build_scan
    from detect.sigma.load import load_detections

    loading, cpu = time.perf_counter(), time.process_time()
    scan = build_scan(load_detections(), _discard)
    loaded = time.perf_counter() - loading
    loaded_cpu = time.process_time() - cpu
    counts = _reassemble(corpus, scan.on_event)
    scan.flush()
    assert scan.correlations is not None
    stats = scan.correlations.correlator.stats.to_dict()
    counts.update(rules=scan.engine.applicable, alerts=scan.alerts, corr_hits=stats["hits"])
    counts.update(rule_load_seconds=loaded, rule_load_cpu=loaded_cpu)
    return counts


def run_worker(name: str, corpus: str, result: Path, profile: bool) -> None:
    stage = STAGES[name]
    assert isinstance(stage, InProcess)
    os.sched_setaffinity(0, {CORE})
    if os.environ.get(native.PURE_ENV) == "1":
        native.prefer_source()
    for module in stage.imports:
        importlib.import_module(module)
    started, cpu = time.perf_counter(), time.process_time()
    counts = _profiled(stage.body, corpus) if profile else stage.body(corpus)
    # set-up a stage times itself (rule loading) is not part of its records/s
    loading: float = counts.get("rule_load_seconds", 0.0)
    loading_cpu: float = counts.get("rule_load_cpu", 0.0)
    counts["seconds"] = time.perf_counter() - started - loading
    # CPU time of the loop: what ratios use on a machine other work slows down
    counts["loop_cpu_seconds"] = time.process_time() - cpu - loading_cpu
    result.write_text(json.dumps(counts), encoding="utf-8")


def _profiled(body: Callable[[str], Counts], corpus: str) -> Counts:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    counts = profiler.runcall(body, corpus)
    stats = pstats.Stats(profiler, stream=sys.stderr)
    stats.sort_stats("tottime").print_stats(PROFILE_TOP)
    stats.sort_stats("cumulative").print_stats(PROFILE_TOP)
    return counts


# External commands -------------------------------------------------------------------------


def detect_program() -> list[str]:
    """The `detect` program of this checkout: its entry point run by this interpreter from the
    checkout (the child's cwd), as the venv's `detect` script runs it. The script itself imports
    whatever checkout the venv was installed from (editable): in a git worktree sharing another
    checkout's venv, that other checkout's code, and its peak RSS."""
    return [sys.executable, "-c", "from detect.cli import main; main()"]


def argv_events_cli(corpus: str, scratch: Path) -> list[str]:
    """(c) `detect events CORPUS > /dev/null`, as a user runs it."""
    return [*detect_program(), "events", corpus, "--summary-json", str(scratch / "summary.json")]


def argv_scan_cli(corpus: str, scratch: Path) -> list[str]:
    """`detect scan CORPUS` with the shipped detections and SigmaHQ's Linux rules, one worker,
    as a user runs it (start-up, rule loading, triage, output and exit included)."""
    sigma = ROOT.parent / "shared" / "sigma"
    rules = [arg for part in SIGMA_LINUX for arg in ("--rules", str(sigma / part))]
    return _scan_argv(corpus, scratch, rules)


def argv_rules(count: int | None, real: int | None = None) -> Callable[[str, Path], list[str]]:
    """`detect scan CORPUS` with `count` rules of bench.rules (no shipped detections); None:
    the seeds alone (the real rules every larger set starts with); `real`: only that many of
    the seeds, then variants (bench.rules `--real`)."""

    def argv(corpus: str, scratch: Path) -> list[str]:
        # made (or found up to date) by a child: the driver must stay small (see measure)
        name = "seeds" if count is None else str(count)
        rules = OUT_DIR / (f"rules-{name}" if real is None else f"rules-{name}-real{real}")
        size = ["--seeds"] if count is None else ["--count", str(count)]
        size += [] if real is None else ["--real", str(real)]
        command = [sys.executable, "-m", "bench.rules", *size, "--out", str(rules)]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return _scan_argv(corpus, scratch, ["--no-default-rules", "--rules", str(rules)])

    return argv


def _scan_argv(corpus: str, scratch: Path, rules: list[str]) -> list[str]:
    options = ["--jobs", "1", "--no-progress", "--summary-json", str(scratch / "summary.json")]
    return [*detect_program(), "scan", corpus, *rules, *options]


def read_scan_cli(scratch: Path) -> Counts:
    summary = json.loads((scratch / "summary.json").read_text(encoding="utf-8"))
    counts = {key: summary[key] for key in ("records", "events", "alerts", "rules_loaded")}
    counts["inner_seconds"] = summary["seconds"]
    return counts


def read_events_cli(scratch: Path) -> Counts:
    summary = json.loads((scratch / "summary.json").read_text(encoding="utf-8"))
    keys = ("records", "events", "unparsed", "lost", "expired", "evicted", "late_records")
    counts = {key: summary[key] for key in keys}
    counts["inner_seconds"] = summary["seconds"]
    return counts


# Stages and measurements -------------------------------------------------------------------


@dataclass(frozen=True)
class InProcess:
    """A stage that runs as a function in a `bench.run --worker` child; it times its own loop."""

    label: str
    body: Callable[[str], Counts]
    target: int | None = None
    imports: tuple[str, ...] = WARM_IMPORTS

    def argv(self, name: str, corpus: str, scratch: Path, profile: bool) -> list[str]:
        argv = [sys.executable, "-m", "bench.run", "--worker", name, "--corpus", corpus]
        return [
            *argv,
            "--result",
            str(scratch / "result.json"),
            *(["--profile", name] if profile else []),
        ]

    def counts(self, scratch: Path, wall: float) -> Counts:
        counts: Counts = json.loads((scratch / "result.json").read_text(encoding="utf-8"))
        return counts


@dataclass(frozen=True)
class External:
    """A stage that is a command; it is timed from outside, start-up included."""

    label: str
    command: Callable[[str, Path], list[str]]
    read: Callable[[Path], Counts]
    target: int | None = None
    exit_codes: tuple[int, ...] = (0,)  # `detect scan` exits 1 when it wrote alerts

    def argv(self, name: str, corpus: str, scratch: Path, profile: bool) -> list[str]:
        return self.command(corpus, scratch)

    def counts(self, scratch: Path, wall: float) -> Counts:
        counts = self.read(scratch)
        counts["seconds"] = wall
        return counts


Stage = InProcess | External


@dataclass
class Measurement:
    stage: str
    label: str
    corpus: str
    records: int
    events: int
    seconds: float
    wall_seconds: float
    peak_rss_kb: int
    target: int | None
    cpu_seconds: float = 0.0  # the child's user + system time, start-up included
    extra: Counts = field(default_factory=dict)
    round: int = 0  # of `--rounds`, from 0

    @property
    def records_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    @property
    def peak_rss_mb(self) -> float:
        return self.peak_rss_kb / 1024

    @property
    def meets_target(self) -> bool:
        fast = self.target is None or self.records_per_second >= self.target
        return fast and self.peak_rss_mb < RSS_LIMIT_MB

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "label": self.label,
            "corpus": self.corpus,
            "records": self.records,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
            "records_per_second": round(self.records_per_second),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "target_records_per_second": self.target,
            "meets_target": self.meets_target,
            "round": self.round,
            **self.extra,
        }


def _pin() -> None:
    os.sched_setaffinity(0, {CORE})


def measure(name: str, corpus: Path, profile: bool = False) -> Measurement:
    """One stage on one corpus in a fresh pinned child; peak RSS is that child's own."""
    stage = STAGES[name]
    with tempfile.TemporaryDirectory(prefix="bench-") as folder:
        scratch = Path(folder)
        argv = stage.argv(name, str(corpus), scratch, profile)
        errors = scratch / "stderr.txt"
        started = time.perf_counter()
        with errors.open("wb") as stderr:
            child = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, preexec_fn=_pin
            )
            _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        text = errors.read_text(encoding="utf-8", errors="replace")
        ok = stage.exit_codes if isinstance(stage, External) else (0,)
        if child.returncode not in ok:
            raise SystemExit(f"stage {name} failed ({child.returncode}):\n{text}")
        if profile:
            sys.stdout.write(text)
        counts = stage.counts(scratch, wall)
    measured = _measurement(name, stage, corpus, counts, wall, usage.ru_maxrss)
    measured.cpu_seconds = usage.ru_utime + usage.ru_stime
    return measured


def _measurement(
    name: str, stage: Stage, corpus: Path, counts: Counts, wall: float, rss_kb: int
) -> Measurement:
    records, events, seconds = counts.pop("records"), counts.pop("events"), counts.pop("seconds")
    return Measurement(
        name,
        stage.label,
        str(corpus),
        records,
        events,
        seconds,
        wall,
        rss_kb,
        stage.target,
        extra=counts,
    )


# Corpora -----------------------------------------------------------------------------------


def ensure_corpus(records: int, hosts: int, seed: int, verbatim: bool = False) -> Path:
    """`bench/out/corpus-N.log`, (re)generated by `bench.corpus` only when missing or stale."""
    path = OUT_DIR / f"corpus-{records}{'-verbatim' if verbatim else ''}.log"
    argv = [sys.executable, "-m", "bench.corpus", "--records", str(records)]
    argv += ["--hosts", str(hosts), "--seed", str(seed), "--out", str(path), "--reuse"]
    argv += ["--verbatim"] if verbatim else []
    subprocess.run(argv, check=True, cwd=ROOT)
    return path


def corpora(args: argparse.Namespace) -> list[Path]:
    if args.corpus:
        return [Path(path) for path in args.corpus]
    chosen = [int(size) for size in args.sizes.split(",") if size.strip()] if args.sizes else []
    sizes = sorted({size for size in chosen or (args.small, args.records) if size > 0})
    return [ensure_corpus(size, args.hosts, args.seed, args.verbatim) for size in sizes]


# Report ------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "commit": _git("rev-parse", "--short", "HEAD"),
        "detect_modified": bool(_git("status", "--porcelain", "--", "detect")),
        "cpu": model,
        "cores": os.cpu_count(),
        "pinned_core": CORE,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "build": build_summary(),
    }


def build_summary() -> str:
    """Which build of the hot modules the stages run (detect/core/native.py)."""
    if os.environ.get(native.PURE_ENV) == "1":
        return f"pure Python ({native.PURE_ENV}=1)"
    return native.status().summary()


def _verdict(item: Measurement) -> str:
    misses = []
    if item.target is not None and item.records_per_second < item.target:
        misses.append("speed")
    if item.peak_rss_mb >= RSS_LIMIT_MB:
        misses.append("RSS")
    return f"MISS ({', '.join(misses)})" if misses else "ok"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def format_table(results: Sequence[Measurement]) -> str:
    width = max([32, *(len(item.label) + 4 for item in results)])  # room for ` #N`
    header = f"{'stage':<{width}} {'records':>10} {'events':>9} {'seconds':>8} {'cpu s':>7} "
    header += f"{'records/s':>10} {'peak RSS':>10}  {'target':<14} verdict"
    rows = [header, "-" * len(header)]
    several = len({item.round for item in results}) > 1
    for item in results:
        target = f">= {item.target:,}/s" if item.target else "-"
        label = f"{item.label} #{item.round + 1}" if several else item.label
        rows.append(
            f"{label:<{width}} {item.records:>10,} {item.events:>9,} {item.seconds:>8.2f} "
            f"{item.cpu_seconds:>7.2f} {item.records_per_second:>10,.0f} "
            f"{item.peak_rss_mb:>7.1f} MB  {target:<14} {_verdict(item)}"
        )
    rows.append(
        f"(target for every stage: peak RSS < {RSS_LIMIT_MB} MB, and flat in input size: "
        f"at most {FLAT_LIMIT:.2f}x from the smallest corpus to the largest)"
    )
    return "\n".join(rows)


def format_flatness(results: Sequence[Measurement]) -> str:
    """Peak RSS of each stage at every corpus size, and largest over smallest against
    FLAT_LIMIT."""
    lines: list[str] = []
    for name in dict.fromkeys(item.stage for item in results):
        runs = sorted((item for item in results if item.stage == name), key=lambda m: m.records)
        if len(runs) > 1:
            sizes = ", ".join(f"{m.peak_rss_mb:.1f} MB at {m.records:,}" for m in runs)
            ratio = runs[-1].peak_rss_mb / runs[0].peak_rss_mb
            verdict = "flat" if ratio <= FLAT_LIMIT else "MISS (not flat)"
            lines.append(
                f"{runs[0].label:<32} peak RSS {sizes} ({ratio:.2f}x, target <= "
                f"{FLAT_LIMIT:.2f}x) {verdict}"
            )
    return "\n".join(lines)


NAIVE_TARGET = 0.40  # a scan with shipped + SigmaHQ rules: at most this share of the naive time
RULES_TARGET = 1.3  # 5,000 rules: at most this many times the wall time of 10 rules
RULE_COUNTS = (10, 100, 1000, 5000)
# the 10 rules and 4,990 variants, which never fire: the same alerts as the 10 rules alone
SAME_ALERTS = f"rules_{RULE_COUNTS[-1]}_real{RULE_COUNTS[0]}"


def format_ratios(results: Sequence[Measurement]) -> str:
    """Ratios within one run, per corpus (meaningful on a loaded machine where absolute
    figures are not): the scans' time over the naive parse's, and the wall and CPU time of
    N rules over those of 10 rules (whole `detect scan` processes)."""
    lines: list[str] = []
    for corpus in dict.fromkeys(item.corpus for item in results):
        here = {item.stage: item for item in results if item.corpus == corpus}
        name = Path(corpus).name
        naive = here.get("naive")
        for stage in ("scan_sigma", "scan_cli"):
            scan = here.get(stage)
            if naive is not None and scan is not None and naive.seconds > 0:
                lines.append(f"{name}: {_naive_ratio(scan, naive)}")
        base = here.get(f"rules_{RULE_COUNTS[0]}")
        for count in RULE_COUNTS[1:]:
            many = here.get(f"rules_{count}")
            if base is None or many is None:
                continue
            wall = many.wall_seconds / base.wall_seconds
            cpu = many.cpu_seconds / base.cpu_seconds if base.cpu_seconds else 0.0
            verdict = "ok" if wall <= RULES_TARGET else "MISS"
            target = f"(target <= {RULES_TARGET}) {verdict}" if count == RULE_COUNTS[-1] else ""
            lines.append(
                f"{name}: {count:,} rules / {RULE_COUNTS[0]} rules: wall {wall:.2f}x, "
                f"CPU {cpu:.2f}x {target}".rstrip()
            )
        same = here.get(SAME_ALERTS)
        if base is not None and same is not None:
            verdict = "ok" if same.wall_seconds / base.wall_seconds <= RULES_TARGET else "MISS"
            lines.append(
                f"{name}: {RULE_COUNTS[-1]:,} rules, {RULE_COUNTS[0]} real (same alerts) / "
                f"{RULE_COUNTS[0]} rules: {_times(same, base)} (target <= {RULES_TARGET}) {verdict}"
            )
        lines.extend(f"{name}: {line}" for line in _seed_ratios(here))
    return "\n".join(lines)


def _seed_ratios(here: dict[str, Measurement]) -> list[str]:
    """What the count costs apart from what the real rules do: every set past the seeds
    starts with all of them (SigmaHQ's and ours, which fire and alert), so N rules over 10
    mixes both; N rules over the seeds alone is the cost of the variants, and the seeds over
    10 rules that of the real rules' content."""
    seeds, base = here.get("rules_seeds"), here.get(f"rules_{RULE_COUNTS[0]}")
    if seeds is None:
        return []
    count = seeds.extra.get("rules_loaded", "?")
    lines = []
    if base is not None:
        lines.append(f"seeds ({count} rules) / {RULE_COUNTS[0]} rules: {_times(seeds, base)}")
    for size in RULE_COUNTS:
        many = here.get(f"rules_{size}")
        if many is not None and isinstance(count, int) and size > count:
            lines.append(f"{size:,} rules / seeds ({count} rules): {_times(many, seeds)}")
    return lines


def _times(many: Measurement, few: Measurement) -> str:
    cpu = many.cpu_seconds / few.cpu_seconds if few.cpu_seconds else 0.0
    return f"wall {many.wall_seconds / few.wall_seconds:.2f}x, CPU {cpu:.2f}x"


def _naive_ratio(scan: Measurement, naive: Measurement) -> str:
    """The scan's time over the naive parse's: wall, and CPU where both loops measured it
    (the verdict is on CPU then: other work on the machine slows wall time unevenly)."""
    text = f"{scan.label} / naive parse: {_loop_seconds(scan) / naive.seconds:.2f}x time"
    ratio = _naive_value(scan, naive)
    if _loop_cpu(scan, naive) is not None:
        text += f", {ratio:.2f}x CPU"
    verdict = "ok" if ratio <= NAIVE_TARGET else "MISS"
    return f"{text} (target <= {NAIVE_TARGET:.2f}) {verdict}"


def _naive_value(scan: Measurement, naive: Measurement) -> float:
    """The ratio the naive target is judged on: CPU where both loops measured it, else time."""
    cpu = _loop_cpu(scan, naive)
    return cpu if cpu is not None else _loop_seconds(scan) / naive.seconds


def _loop_cpu(scan: Measurement, naive: Measurement) -> float | None:
    mine, theirs = scan.extra.get("loop_cpu_seconds"), naive.extra.get("loop_cpu_seconds")
    if isinstance(mine, int | float) and isinstance(theirs, int | float) and mine and theirs:
        return mine / theirs
    return None


def format_medians(results: Sequence[Measurement]) -> str:
    """With several rounds: each target's ratio per round (a round's own measurements), then
    their median."""
    lines: list[str] = []
    rounds = sorted({item.round for item in results})
    for corpus in dict.fromkeys(item.corpus for item in results):
        found: dict[str, tuple[float, list[float]]] = {}
        for round_ in rounds:
            here = {i.stage: i for i in results if i.corpus == corpus and i.round == round_}
            for label, target, value in _target_ratios(here):
                found.setdefault(label, (target, []))[1].append(value)
        for label, (target, values) in found.items():
            middle = statistics.median(values)
            verdict = "ok" if middle <= target else "MISS"
            each = " / ".join(f"{value:.2f}" for value in values)
            lines.append(
                f"{Path(corpus).name}: {label}: {each} (median {middle:.2f}x, target <= "
                f"{target}) {verdict}"
            )
    return "\n".join(lines)


def _target_ratios(here: dict[str, Measurement]) -> list[tuple[str, float, float]]:
    """(what, target, ratio) of one round on one corpus, for the targets with a ratio."""
    found = []
    naive = here.get("naive")
    for stage in ("scan_sigma", "scan_cli"):
        scan = here.get(stage)
        if naive is not None and scan is not None and naive.seconds > 0:
            found.append((f"{scan.label} / naive parse", NAIVE_TARGET, _naive_value(scan, naive)))
    base = here.get(f"rules_{RULE_COUNTS[0]}")
    for stage in (f"rules_{RULE_COUNTS[-1]}", SAME_ALERTS):
        many = here.get(stage)
        if base is not None and many is not None:
            label = f"{many.label} / {base.label}, wall"
            found.append((label, RULES_TARGET, many.wall_seconds / base.wall_seconds))
    return found


def _loop_seconds(item: Measurement) -> float:
    """The time of the scan's loop: in-process stages time it; for `detect scan`, the time
    its summary reports (reading and scanning, without start-up and rule loading)."""
    inner = item.extra.get("inner_seconds")
    return float(inner) if isinstance(inner, int | float) else item.seconds


def report(results: Sequence[Measurement], json_path: Path | None) -> None:
    sys.stdout.write(f"build: {build_summary()}\n")
    sys.stdout.write(format_table(results) + "\n")
    rounds = sorted({item.round for item in results})
    first = [item for item in results if item.round == rounds[0]]
    parts = [format_flatness(first)]
    for round_ in rounds:
        ratios = format_ratios([item for item in results if item.round == round_])
        parts.append(ratios if len(rounds) == 1 else f"round {round_ + 1}:\n{ratios}")
    if len(rounds) > 1:
        parts.append(format_medians(results))
    for part in parts:
        if part:
            sys.stdout.write("\n" + part + "\n")
    driver_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stdout.write(
        f"\n(driver peak RSS {driver_mb:.1f} MB: a floor under every child's figure)\n"
    )
    if json_path is not None:
        document = {
            "machine": machine_info(),
            "rss_limit_mb": RSS_LIMIT_MB,
            "ratios": [line for part in parts[1:] for line in part.splitlines()],
            "driver_peak_rss_mb": round(driver_mb, 1),
            "results": [item.to_dict() for item in results],
        }
        json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


# Command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument(
        "--small", type=int, default=DEFAULT_SMALL, help="second corpus size for RSS; 0: none"
    )
    parser.add_argument(
        "--sizes",
        default="",
        help="corpus sizes, comma-separated (e.g. 250000,500000,1000000,2000000): "
        "instead of --records and --small",
    )
    parser.add_argument("--corpus", nargs="+", help="existing corpora instead of generated ones")
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--verbatim", action="store_true", help="corpora with SYSCALL pid/ppid/a1 as seeded"
    )
    parser.add_argument(
        "--stages",
        default=",".join(name for name in STAGES if not name.startswith("rules_")),
        help=f"of {', '.join(STAGES)} (default: all but rules_*)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every stage this many times, the order of the stages alternating; the "
        "ratios are given per round and as medians (on a shared machine, one round's are noise)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--profile", metavar="STAGE", help="cProfile one in-process stage")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.stages = [name.strip() for name in args.stages.split(",") if name.strip()]
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    unknown = [name for name in [*args.stages, args.profile or ""] if name and name not in STAGES]
    if unknown:
        parser.error(f"unknown stage {unknown}; known: {', '.join(STAGES)}")
    if args.profile and not isinstance(STAGES[args.profile], InProcess):
        parser.error(f"--profile needs an in-process stage, not {args.profile}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.corpus[0], args.result, args.profile is not None)
        return 0
    build = native.status()
    if build.stale and os.environ.get(native.PURE_ENV) != "1":
        sys.stderr.write(build.summary() + "\n")
        return 2
    paths = corpora(args)
    if args.profile:
        sys.stderr.write(f"profiling {args.profile} on {paths[-1].name} ...\n")
        measure(args.profile, paths[-1], profile=True)
        return 0
    results = []
    for round_ in range(args.rounds):
        stages = args.stages if round_ % 2 == 0 else args.stages[::-1]  # alternate the order
        for path in paths:
            for name in stages:
                sys.stderr.write(f"{name} on {path.name} (round {round_ + 1}) ...\n")
                measured = measure(name, path)
                measured.round = round_
                results.append(measured)
    report(results, args.json)
    return 0  # figures, not a test: a missed target is reported, not failed


# The stages, by name. A new stage (e.g. the engine's scan with rules) is one more entry.
STAGES: dict[str, Stage] = {
    "read": InProcess("read lines (baseline)", body_read),
    "parse_reassemble": InProcess("(a) parse + reassemble", body_parse_reassemble, 400_000),
    "interpret": InProcess("(b) + event_to_dict", body_interpret, 100_000),
    "events_cli": External("(c) detect events >/dev/null", argv_events_cli, read_events_cli),
    "scan_none": InProcess("scan (a) no rules", body_scan_none, None, SCAN_IMPORTS),
    "scan_shipped": InProcess("scan (b) shipped detections", body_scan_shipped, None, SCAN_IMPORTS),
    "scan_sigma": InProcess(
        "scan (c) shipped + SigmaHQ linux", body_scan_sigma, 250_000, SCAN_IMPORTS
    ),
    "scan_corr": InProcess("scan (d) shipped + correlations", body_scan_corr, None, SCAN_IMPORTS),
    "naive": InProcess("naive parse (reference)", body_naive),
    "scan_cli": External(
        "detect scan shipped + SigmaHQ", argv_scan_cli, read_scan_cli, exit_codes=(0, 1)
    ),
    **{
        f"rules_{count}": External(
            f"detect scan {count:,} rules", argv_rules(count), read_scan_cli, exit_codes=(0, 1)
        )
        for count in RULE_COUNTS
    },
    "rules_seeds": External(
        "detect scan, the seeds alone", argv_rules(None), read_scan_cli, exit_codes=(0, 1)
    ),
    SAME_ALERTS: External(
        f"detect scan {RULE_COUNTS[-1]:,} rules, {RULE_COUNTS[0]} real",
        argv_rules(RULE_COUNTS[-1], RULE_COUNTS[0]),
        read_scan_cli,
        exit_codes=(0, 1),
    ),
}


if __name__ == "__main__":
    sys.exit(main())
