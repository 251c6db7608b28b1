"""1 vs N cores, and the Dask local cluster, on a multi-host corpus (docs/scale.md): each
configuration runs `detect scan` (the shipped rules, triage on) in a fresh process, rounds
alternating, and reports wall time, CPU time (workers included), the wall-time ratio
to `--jobs 1` of the same round, and whether alerts and incidents are byte-identical to it.

The corpus is one file that mixes its hosts (`--layout file`, as a central collector writes
it), or made from it: a folder per host (`folders`, as an archive of many machines is kept:
no file read twice), or the file gzipped (`gzip`: the probe samples its head only).

`python -m bench.parallel --records 1000000 --hosts 4 --jobs 1,2 --dask`
`python -m bench.parallel --layout folders --rounds 4`
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.corpus import main as make_corpus

OUT = Path(__file__).resolve().parent / "out"
DETECT = Path(sys.executable).parent / "detect"


def corpus(records: int, hosts: int) -> Path:
    path = OUT / f"corpus-{hosts}hosts-{records}.log"
    code = make_corpus(
        ["--records", str(records), "--hosts", str(hosts), "--out", str(path), "--reuse"]
    )
    if code:
        raise SystemExit(f"corpus generation failed ({code})")
    return path


LAYOUTS = ("file", "folders", "gzip")


def laid_out(path: Path, layout: str) -> Path:
    """`path` (a corpus file) in `layout`, made beside it once and reused while newer."""
    if layout == "file":
        return path
    made = path.with_name(f"{path.name}.{'gz' if layout == 'gzip' else layout}")
    if made.exists() and made.stat().st_mtime >= path.stat().st_mtime:
        return made
    if layout == "gzip":
        with path.open("rb") as source, gzip.open(made, "wb", compresslevel=6) as out:
            while block := source.read(1 << 22):
                out.write(block)
        return made
    hosts: dict[bytes, list[bytes]] = {}
    with path.open("rb") as source:
        for line in source:
            host = line[5 : line.index(b" ")] if line.startswith(b"node=") else b"unnamed"
            hosts.setdefault(host, []).append(line)
    for host, lines in hosts.items():
        folder = made / host.decode()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "audit.log").write_bytes(b"".join(lines))
    return made


def run(path: Path, options: Sequence[str], workdir: Path) -> dict[str, object]:
    """One scan in a child process: wall and CPU seconds (its workers included)."""
    name = "_".join(options).replace("-", "")
    alerts, incidents = workdir / f"{name}.alerts", workdir / f"{name}.incidents"
    command = [str(DETECT), "scan", str(path), "--no-progress", "--incidents", str(incidents)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with alerts.open("wb") as out:
        done = subprocess.run([*command, *options], stdout=out, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "options": " ".join(options),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "alerts": alerts,
        "incidents": incidents,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.parallel", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--corpus", type=Path, help="an existing corpus instead")
    parser.add_argument("--layout", choices=LAYOUTS, default="file", help="see above")
    parser.add_argument("--jobs", default="1,2", help="comma-separated; the first is the base")
    parser.add_argument("--dask", action="store_true", help="also --dask local")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    path = laid_out(args.corpus or corpus(args.records, args.hosts), args.layout)
    configs = [["--jobs", jobs] for jobs in args.jobs.split(",")]
    if args.dask:
        configs.append(["--dask", "local", "--jobs", str(os.cpu_count() or 1)])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            base = None
            for options in configs:
                result = run(path, options, Path(tmp))
                if base is None:
                    base = result
                result["round"] = round_ + 1
                ratio = float(str(result["wall_s"])) / float(str(base["wall_s"]))
                result["ratio"] = round(ratio, 3)
                result["identical"] = all(
                    filecmp.cmp(str(result[k]), str(base[k]), shallow=False)
                    for k in ("alerts", "incidents")
                )
                print(
                    f"round {round_ + 1} {result['options']:<28} wall {result['wall_s']:>7}s "
                    f"cpu {result['cpu_s']:>7}s ratio {result['ratio']:.3f} "
                    f"identical {result['identical']}",
                    flush=True,
                )
                results.append(result)
    for result in results:
        result.pop("alerts")
        result.pop("incidents")
    report = {"corpus": str(path), "cores": os.cpu_count(), "results": results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(result["identical"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
