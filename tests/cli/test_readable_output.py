"""What people read (issue 17 item 7): `events --format text` shows fields, not Python dicts;
the summary says what its serial gaps mean where it prints them; the README's files exist."""

from __future__ import annotations

import re
import subprocess
from io import StringIO
from pathlib import Path

from detect.outputs.events import describe
from detect.outputs.summary import GAPS_MEAN, RunSummary
from tests.stream.helpers import DETECT, REPO

EXAMPLES = REPO / "examples"


def detect(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(DETECT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_events_text_shows_fields_not_python_dicts() -> None:
    result = detect(
        "events", "--format", "text", EXAMPLES / "connect.log", EXAMPLES / "file_ops.log"
    )
    assert result.returncode == 0
    text = result.stdout
    assert "{'" not in text and "['" not in text
    assert "  destination 127.0.0.1:9 family=inet\n" in text  # the refused connect
    assert "  destination [::1]:" in text
    assert "  destination /var/run/nscd/socket family=unix\n" in text
    assert re.search(r"^  file /tmp/detect-capture/created.txt inode=\d+ uid=0 ", text, re.M)
    assert "  keys cap_connect\n" in text


def test_describe_puts_what_a_part_names_first() -> None:
    assert describe({"ip": "10.0.0.1", "port": 22}) == "10.0.0.1:22"
    assert describe({"address": "::1", "ip": "::1", "port": 53, "family": "inet6"}) == (
        "[::1]:53 family=inet6"
    )
    assert describe({"path": "/a b", "mode": "0644", "owner": {"id": 0}}) == (
        "/a b mode=0644 owner.id=0"
    )
    assert describe({"family": "netlink"}) == "family=netlink"


def summary(lost: int) -> str:
    stats = {
        "lines": 1, "records": 1, "events": 1, "unparsed": 0, "expired": 0, "evicted": 0,
        "late_records": 0, "unparsed_examples": [],
    }  # fmt: skip
    out = StringIO()
    RunSummary(1.0, 1, [], stats, lost, {"-": lost} if lost else {}).write_text(out)
    return out.getvalue()


def test_the_summary_says_what_serial_gaps_mean_when_there_are_some() -> None:
    assert GAPS_MEAN not in summary(0)
    text = summary(2107)
    assert "lost 2107 (serial gaps)" in text
    assert GAPS_MEAN in text
    assert "kernel's lost counter" in GAPS_MEAN and "AUDIT_LOST" in GAPS_MEAN


def test_the_demo_scan_says_it_and_the_examples_readme_gives_its_count() -> None:
    result = detect("scan", "--format", "text", EXAMPLES)
    assert result.returncode == 1
    lost = re.search(r"lost (\d+) \(serial gaps\)", result.stderr)
    assert lost is not None
    assert GAPS_MEAN in result.stderr
    readme = (EXAMPLES / "README.md").read_text()
    assert f"`lost {lost.group(1)} (serial gaps)`" in readme
    for log in sorted(EXAMPLES.glob("*.log")):  # each file alone: no gap (how they were cut)
        alone = detect("events", log)
        assert "lost 0 (serial gaps)" in alone.stderr, log
        assert f"`{log.name}`" in readme


def test_every_file_the_readme_names_exists() -> None:
    text = (REPO / "README.md").read_text()
    named = set(
        re.findall(r"(?<![\w/])((?:examples|detections|docs|packaging|mappings)/[\w./-]+)", text)
    )
    assert "examples/execve_args.log" in named
    missing = [path for path in sorted(named) if not (REPO / path.rstrip(".")).exists()]
    assert missing == [], missing
