"""Instructions per line: what a stage costs, counted rather than timed.

`python -m bench.instructions STAGE [STAGE ...] [--corpus PATH] [--lines N] [--top K]`
runs each in-process stage of bench.run (`read`, `parse_reassemble`, `scan_sigma`, ...) in a
`bench.run --worker` child under valgrind's callgrind, twice: on the corpus's first N lines and
on its first 2N. The difference over N is the stage's marginal cost per line, in instructions:
start-up, imports, rule loading and what is compiled or cached once all cancel out, and the
figure does not move with what else the machine runs. On a shared VM, where the wall time of
one build swung 1.59-2.57 s between runs, a change of 2% is visible here and not in seconds.
To compare two builds, run it from each checkout (a git worktree with its own `make build`).

`--top K` adds the K compiled functions of the project (mypyc's `CPyDef_*`) with the largest
marginal inclusive cost per line, from `callgrind_annotate`. In a pure run (DETECT_PURE=1)
the modules' functions are all inside the interpreter's loop and have no names here. The
child runs with PYTHONHASHSEED=0: two counts of one build on one input agree to a few
hundredths of a percent (start-up moved by some 60,000 of ~440 million instructions between
runs with other file names), about one instruction per line at the default 50,000 lines.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.run import OUT_DIR, ROOT, STAGES, InProcess

DEFAULT_LINES = 50_000
DEFAULT_CORPUS = OUT_DIR / "corpus-500000.log"
TOTALS = re.compile(rb"^(?:totals|summary): (\d+)", re.MULTILINE)
# a line of `callgrind_annotate`'s function table: `  1,234 (12.34%)  file:function [object]`
ANNOTATED = re.compile(
    r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(?!\*|<|>)(\S.*?)(?: \([\d,]+x\))?(?: \[.*\])?$"
)
COMPILED = "CPyDef_"  # mypyc's C function of a compiled Python function


@dataclass(frozen=True)
class Counted:
    stage: str
    lines: int  # N: the smaller prefix; the larger has 2N
    small: int  # instructions of the whole child on N lines
    large: int  # and on 2N
    functions: dict[str, float]  # marginal inclusive instructions per line, by function

    @property
    def per_line(self) -> float:
        return (self.large - self.small) / self.lines


def prefixes(corpus: Path, lines: int, folder: Path) -> tuple[Path, Path]:
    """The first `lines` and the first 2 x `lines` lines of `corpus`, as files in `folder`,
    from one read (raises if it has fewer)."""
    small, large = (folder / f"{corpus.stem}.head-{n}.log" for n in (lines, 2 * lines))
    written = 0
    with corpus.open("rb") as source, small.open("wb") as first, large.open("wb") as both:
        for line in source:
            if written == 2 * lines:
                break
            if written < lines:
                first.write(line)
            both.write(line)
            written += 1
    if written < 2 * lines:
        raise SystemExit(f"{corpus} has {written:,} lines: fewer than the {2 * lines:,} needed")
    return small, large


def valgrind() -> str:
    found = shutil.which("valgrind")
    if found is None:
        raise SystemExit("valgrind is not installed (Debian package valgrind: make system-deps)")
    return found


def count(stage: str, corpus: Path, out: Path, scratch: Path) -> int:
    """Instructions of one `bench.run --worker` child on `corpus`, callgrind's output in `out`."""
    worker = STAGES[stage].argv(stage, str(corpus), scratch, False)  # as bench.run runs it
    argv = [valgrind(), "--tool=callgrind", f"--callgrind-out-file={out}", *worker]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"stage {stage} under callgrind failed:\n{done.stderr[-4000:]}")
    return totals(out.read_bytes())


def totals(output: bytes) -> int:
    """The instruction count a callgrind output file gives for the whole run."""
    found = TOTALS.search(output)
    if found is None:
        raise ValueError("no totals in callgrind's output")
    return int(found.group(1))


def functions(out: Path) -> dict[str, int]:
    """Inclusive instructions by function, as `callgrind_annotate` lists them."""
    argv = ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return annotated(done.stdout)


def annotated(text: str) -> dict[str, int]:
    """The compiled functions in the function table of `callgrind_annotate` output: cost by
    name (`CPyDef_module___function`; its file and object left out)."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        match = ANNOTATED.match(line)
        if match is None:
            continue
        name = match.group(2).rsplit(":", 1)[-1]
        if name.startswith(COMPILED):
            found[name] = max(found.get(name, 0), int(match.group(1).replace(",", "")))
    return found


def measure(stage: str, corpora: tuple[Path, Path], lines: int, top: int) -> Counted:
    """`stage` counted on `corpora` (`prefixes`: `lines` and twice as many lines)."""
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as folder:
        scratch = Path(folder)
        small_out, large_out = scratch / "small.out", scratch / "large.out"
        small = count(stage, corpora[0], small_out, scratch)
        large = count(stage, corpora[1], large_out, scratch)
        marginal: dict[str, float] = {}
        if top:
            before, after = functions(small_out), functions(large_out)
            for name, cost in after.items():
                extra = (cost - before.get(name, 0)) / lines
                if extra >= 1:
                    marginal[name] = extra
    return Counted(stage, lines, small, large, marginal)


def report(counted: Counted, top: int) -> str:
    rows = [
        f"{counted.stage}: {counted.per_line:,.0f} instructions per line "
        f"({counted.small:,} on {counted.lines:,} lines, {counted.large:,} on "
        f"{2 * counted.lines:,})"
    ]
    ranked = sorted(counted.functions.items(), key=lambda item: -item[1])[:top]
    rows.extend(f"  {cost:>9,.0f}  {name}" for name, cost in ranked)
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    in_process = [name for name, stage in STAGES.items() if isinstance(stage, InProcess)]
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("stages", nargs="+", metavar="STAGE", help=", ".join(in_process))
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--lines", type=int, default=DEFAULT_LINES, help="N: runs on N and 2N")
    parser.add_argument("--top", type=int, default=0, help="functions to list per stage")
    args = parser.parse_args(argv)
    unknown = [name for name in args.stages if name not in in_process]
    if unknown:
        parser.error(f"not in-process stages: {', '.join(unknown)}; known: {', '.join(in_process)}")
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    if not args.corpus.is_file():
        parser.error(f"no corpus at {args.corpus} (python -m bench.run makes bench/out/ ones)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    valgrind()
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as folder:
        corpora = prefixes(args.corpus, args.lines, Path(folder))  # once, for every stage
        for stage in args.stages:
            sys.stderr.write(f"{stage} on {args.lines:,} and {2 * args.lines:,} lines ...\n")
            sys.stderr.flush()
            counted = measure(stage, corpora, args.lines, args.top)
            sys.stdout.write(report(counted, args.top) + "\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
