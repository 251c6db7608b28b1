"""The misfires of issue 21, each on real lines captured on this machine.

Captures (provenance beside each): `tree_and_sessions` (scripts/capture/misfires/
tree_and_sessions.sh: a shell that execs a web server, a real CGI shell below one, cron and
systemd writes in two sessions of one login uid and then in one session) and `ppid_start`
(scripts/capture/misfires/ppid_start.sh: a process first known as a ppid whose own first event
comes after its child's).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from detect.core.alert import Alert
from detect.pipeline.factory import load_rules, scan_files
from detect.sigma.load import DEFAULT_RULES, load_detections

CAPTURES = Path(__file__).with_name("captures")
SHELL_UNDER_WEB = "3ab9760b-26cf-41be-80ac-1abab91de007"
CRON_AND_SYSTEMD = "e4131a8c-5e46-408a-8cd3-0180a1cfc3d8"
ROOT_BY_LOGIN = "e5f95348-18ca-4a47-ad6c-2637de51d0f8"


@cache
def alerts_of(capture: str) -> tuple[Alert, ...]:
    found: list[Alert] = []
    scan_files([str(CAPTURES / capture)], load_rules(), found.append)
    return tuple(found)


def fired(capture: str, rule_id: str) -> list[Alert]:
    return [alert for alert in alerts_of(capture) if alert.rule.id == rule_id]


def command_lines(alert: Alert) -> list[str]:
    return [entry.get("command_line", "") for entry in alert.ancestry or ()]


def test_a_shell_that_execs_a_web_server_is_not_below_one() -> None:
    """`bash -c 'cd DIR && exec python3 -m http.server ...'`: the shell's -c script names the
    server, and the shell becomes it (same pid), but nothing above the shell is a web server.
    The CGI script's bash that the same server runs later is below one, and still alerts."""
    alerts = fired("tree_and_sessions.log", SHELL_UNDER_WEB)
    assert len(alerts) == 1, [command_lines(a) for a in alerts]
    shell = command_lines(alerts[0])
    assert shell[-1].startswith("/bin/bash ") and shell[-1].strip().endswith("/cgi-bin/who.sh")
    assert shell[-2].startswith("python3 -m http.server --cgi")


def test_cron_and_systemd_writes_of_two_sessions_of_one_user_do_not_join() -> None:
    """Session A writes a cron file, session B (same login uid 4242) a systemd unit: two
    logins. Session C writes both: the one alert, on C's events."""
    alerts = fired("tree_and_sessions.log", CRON_AND_SYSTEMD)
    assert len(alerts) == 1
    sessions = {
        record["fields"]["ses"]
        for event in alerts[0].events
        for record in event["records"]
        if record["type"] == "SYSCALL"
    }
    paths = {
        record["fields"].get("name", "")
        for event in alerts[0].events
        for record in event["records"]
        if record["type"] == "PATH"
    }
    assert len(sessions) == 1
    assert any(p.endswith("detect-misfire-c") for p in paths)
    assert any(p.endswith("detect-misfire-c.service") for p in paths)
    assert not any("misfire-a" in p or "misfire-b" in p for p in paths)


def test_ancestry_start_times_are_start_times_or_absent() -> None:
    """The harness (the script's parent) is known only from a ppid and is first seen after the
    script's first child: it has a first-seen time, no start; a start is given only where the
    real start is known (a fork), and no parent starts after its child."""
    alerts = fired("ppid_start.log", ROOT_BY_LOGIN)
    chains = [alert.ancestry or [] for alert in alerts]
    assert len(chains) == 5  # /bin/true first, sleep 0.1, sleep 0.1, /bin/true second, third
    late = [chain for chain in chains if len(chain) == 3]
    assert late, chains
    for chain in late:
        harness, script, _ = chain
        assert "start" not in harness and harness["seen_from"] == "ppid"
        assert harness["first_seen"] > script["first_seen"]  # seen later: not a start
    for chain in chains:
        for entry in chain:
            assert ("start" in entry) == (entry.get("start_from") in ("fork", "proc")), entry
        starts = [entry["start"] for entry in chain if "start" in entry]
        assert starts == sorted(starts)


def test_the_root_by_login_rule_claims_no_technique_it_does_not_show() -> None:
    """Every root exec below a login: an audit trail of the root account (a local account,
    T1078.003) used from a login; most are run by a root shell, not by sudo (T1548.003)."""
    (rule,) = [
        r
        for r in load_detections([str(DEFAULT_RULES)], default=False).rules
        if r.id == ROOT_BY_LOGIN
    ]
    tags = set(rule.tags)
    assert "attack.t1548.003" not in tags and "attack.t1078.003" in tags, tags
    (alert, *_) = fired("ppid_start.log", ROOT_BY_LOGIN)
    techniques = alert.document()["threat"]["technique"]
    assert "T1548.003" not in str(techniques) and "T1078.003" in str(techniques)
