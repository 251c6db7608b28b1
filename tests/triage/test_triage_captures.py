"""Triage on a real host's capture (tests/triage/captures/host_day.md): informational hits
never alert, `--min-level` and deduplication change what is written but not what is counted,
each attack is its own incident at medium or above, two sessions of one login stay apart, the
web shell below the web server is one incident, and `detect tune` on the clean baseline keeps
the attacks while removing the background."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from detect.cli.commands import main
from detect.pipeline.factory import PipelineSettings, load_rules
from detect.triage.levels import rank
from detect.triage.settings import TriageSettings
from tests.triage.helpers import BASELINE, DAY, scan_with_triage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

ATTACK_RULES = {
    "session A": "Shell Process Made a Network Connection",
    "session B": "Local User or Group Account Created",
    "web shell": "Shell Started Below a Web Server",
}


def titles(incident: object) -> set[str]:
    return {entry.title for entry in incident.rules.values()}  # type: ignore[attr-defined]


def test_informational_hits_tag_incidents_and_are_never_written() -> None:
    scan, alerts, incidents = scan_with_triage(DAY)
    assert scan.triage is not None
    hits = scan.triage.summary()["hits_by_level"]
    assert hits["informational"] > 0
    assert all(a.rule.level != "informational" for a in alerts)
    informational = {
        r.title for r in load_rules(PipelineSettings()).rules if r.level == "informational"
    }
    tags = {title for i in incidents for title in i.tags}
    assert "Program Run as Root by a Logged-In User" in tags and tags <= informational
    assert scan.hits == sum(hits.values())


def test_min_level_writes_less_and_counts_the_same() -> None:
    low, low_alerts, low_incidents = scan_with_triage(DAY)
    high, high_alerts, high_incidents = scan_with_triage(DAY, TriageSettings(min_level="high"))
    assert low.triage is not None and high.triage is not None
    assert all(rank(a.rule.level) >= rank("high") for a in high_alerts)
    assert 0 < len(high_alerts) < len(low_alerts)
    assert low.triage.summary()["hits_by_level"] == high.triage.summary()["hits_by_level"]
    assert [i.id for i in low_incidents] == [i.id for i in high_incidents]


def test_deduplication_folds_repeats_with_their_count() -> None:
    scan, alerts, _ = scan_with_triage(DAY)
    _, raw, _ = scan_with_triage(DAY, TriageSettings(dedup_window_ms=0))
    folds = [a for a in alerts if a.fold is not None]
    assert folds, "the web shell's repeated rules fold"
    for fold in folds:
        assert fold.fold is not None and fold.fold.count >= 2
        assert fold.events_total == fold.fold.count and len(fold.events) == fold.fold.count
        document = fold.document()["detect"]
        assert document["count"] == fold.fold.count and document["first"] <= document["last"]
    assert scan.triage is not None
    folded = scan.triage.summary()["deduplicated"]
    assert len(raw) == len(alerts) - folded["updates"] + folded["folded"]


def test_each_attack_is_its_own_incident_at_medium_or_above() -> None:
    _, _, incidents = scan_with_triage(DAY)
    for what, title in ATTACK_RULES.items():
        (incident,) = [i for i in incidents if title in titles(i)]
        assert rank(incident.level) >= rank("medium"), what
    owners = {i.id for i in incidents for t in ATTACK_RULES.values() if t in titles(i)}
    assert len(owners) == 3


def test_two_sessions_of_one_login_stay_apart() -> None:
    _, _, incidents = scan_with_triage(DAY)
    a = next(i for i in incidents if ATTACK_RULES["session A"] in titles(i))
    b = next(i for i in incidents if ATTACK_RULES["session B"] in titles(i))
    assert a.login == b.login == "4242" and a.session != b.session


def test_the_web_shell_below_the_web_server_is_one_incident() -> None:
    _, _, incidents = scan_with_triage(DAY)
    (shell,) = [i for i in incidents if ATTACK_RULES["web shell"] in titles(i)]
    assert shell.session is None and shell.key[1] == "service"
    commands = " ".join(str(n.get("command_line")) for n in shell.nodes.values())
    for command in ("status.sh id", "uname -a", "cat /etc/passwd", "curl -s"):
        assert command in commands
    assert shell.level in ("high", "critical")


def test_tune_on_the_baseline_keeps_the_attacks(tmp_path: Path) -> None:
    filters = tmp_path / "filters.yml"
    runner = CliRunner()
    tuned = runner.invoke(main, ["tune", "--baseline", str(BASELINE), "--out", str(filters)])
    assert tuned.exit_code == 0, tuned.output
    text = filters.read_text()
    assert "# removes " in text and "condition: not selection" in text
    documents = [d for d in yaml.safe_load_all(text) if d]
    fields = {name for d in documents for name in d["filter"]["selection"]}
    assert fields <= {"exe", "ParentImage", "UID", "Image", "User", "CommandLine"}  # no pid, time
    _, before_alerts, _ = scan_with_triage(DAY)
    _, after_alerts, after = scan_with_triage(DAY, rule_paths=(str(filters),))
    assert len(after_alerts) < len(before_alerts)
    kept = {t for i in after for t in titles(i)}
    assert set(ATTACK_RULES.values()) <= kept
    assert len(after) == 3 and all(rank(i.level) >= rank("medium") for i in after)
    _, _, baseline_after = scan_with_triage(BASELINE, rule_paths=(str(filters),))
    assert baseline_after == []


def test_scan_text_shows_incidents_first(tmp_path: Path) -> None:
    incidents = tmp_path / "incidents.jsonl"
    result = CliRunner().invoke(
        main, ["scan", "--format", "text", "--incidents", str(incidents), str(DAY)]
    )
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert out.startswith("CRITICAL incident") and "process tree:" in out
    assert "incidents from" in out.splitlines()[-1] or "incidents from" in out
    lines = incidents.read_text().splitlines()
    assert len(lines) == out.count(" incident (score ")


@pytest.mark.parametrize("level", ["informational", "critical"])
def test_min_level_option(level: str) -> None:
    result = CliRunner().invoke(main, ["scan", "--min-level", level, str(DAY)])
    assert result.exit_code in (0, 1), result.output
    written = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert all(rank(a["detect"]["level"]) >= max(rank(level), rank("low")) for a in written)
    assert bool(written) == (result.exit_code == 1)


@pytest.mark.parametrize(
    ("options", "heading"),
    [([], "on an unnamed host (no node=, no --host), "), (["--host", "web1"], "on web1, ")],
)
def test_incident_heading_names_the_host(options: list[str], heading: str) -> None:
    """A log without `node=` names no host: the heading says so, unless `--host` names it."""
    log = EXAMPLES / "useradd.log"
    assert not any(line.startswith("node=") for line in log.read_text().splitlines())
    result = CliRunner().invoke(main, ["scan", "--format", "text", *options, str(log)])
    assert result.exit_code == 1, result.output
    headings = [line for line in result.stdout.splitlines() if " incident (score " in line]
    assert headings and all(heading in line for line in headings)
