"""Must show (issue 17, 2): a spool that fills up. The webhook is down for the whole run and
`--spool-max-bytes` is small beside the alerts: the oldest alerts are dropped, counted in the
end line and said once on stderr, the spool stays within its bound on disk, the run exits 2,
and the collector's memory is that of a run without the webhook (the spool is never held in
memory)."""

from __future__ import annotations

import os
import re
import subprocess
from functools import partial
from pathlib import Path

from tests.stream.helpers import CAPTURES, DETECT
from tests.stream.receivers import delivery_counts, free_port

COPIES = 60  # of a capture with 28 alerts: ~1,700 alerts of ~7 KB
BOUND = 1 << 16
ENV = {**os.environ, "DETECT_PURE": "1"}
AUDIT = re.compile(r"audit\((\d+)\.(\d+):(\d+)\)")


def many_alerts(path: Path) -> None:
    """The capture again and again, each copy a minute and 10,000 serials later."""
    lines = (CAPTURES / "exec_from_temp_dir.log").read_text().splitlines(keepends=True)

    with path.open("w") as out:
        for copy in range(COPIES):
            shift = partial(shifted, copy=copy)
            out.writelines(AUDIT.sub(shift, line) for line in lines)


def shifted(match: re.Match[str], copy: int) -> str:
    seconds, fraction, serial = match.groups()
    return f"audit({int(seconds) + 60 * copy}.{fraction}:{int(serial) + 10_000 * copy})"


def run(log: Path, out: Path, err: Path, *args: str) -> tuple[int, int]:
    """Exit status and peak RSS (KiB) of `detect stream --stdin` on `log`."""
    command = [str(DETECT), "stream", "--stdin", "--no-triage", "--host", "h", "--output"]
    command += [str(out), "--stats-interval", "0", *args]
    with log.open("rb") as stdin, err.open("wb") as stderr:
        child = subprocess.Popen(command, stdin=stdin, stderr=stderr, env=ENV)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss


def test_a_full_spool_drops_the_oldest_counts_and_stays_bounded(tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    many_alerts(log)
    code, plain_rss = run(log, tmp_path / "plain.jsonl", tmp_path / "plain.err")
    assert code in (0, 1)
    spool = tmp_path / "spool"
    webhook = f"http://127.0.0.1:{free_port()}/alerts"  # nothing listens there
    err = tmp_path / "full.err"
    args = ["--webhook", webhook, "--spool", str(spool), "--spool-max-bytes", str(BOUND)]
    code, spool_rss = run(log, tmp_path / "full.jsonl", err, *args, "--drain-seconds", "0")
    text = err.read_text()
    assert code == 2, text
    alerts = len((tmp_path / "full.jsonl").read_text().splitlines())
    alert_bytes = (tmp_path / "full.jsonl").stat().st_size
    assert alerts > 1000 and alert_bytes > 150 * BOUND
    end = [line for line in text.splitlines() if line.startswith("stream: end:")][-1]
    (counts,) = delivery_counts(end).values()
    assert counts["delivered"] == 0 and counts["dropped"] > 0 and counts["pending"] > 0
    assert counts["dropped"] + counts["pending"] == alerts  # each alert spooled, then dropped
    assert text.count("is full (65536 bytes): the oldest alerts are dropped") == 1
    assert f"{counts['dropped']} alerts dropped (refused by the receiver, or the spool" in text
    assert f"{counts['pending']} alerts not delivered after 0 s" in text
    on_disk = sum(path.stat().st_size for path in spool.rglob("*.seg"))
    assert 0 < on_disk <= BOUND
    # the alerts (their bytes, many times the bound) never sat in memory
    assert spool_rss - plain_rss < min(alert_bytes // 1024 // 2, 12 * 1024), (
        plain_rss,
        spool_rss,
    )
