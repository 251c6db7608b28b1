"""The tree in the engine: chain detections, labels from detections and audit keys, alerts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from detect.matching.alert import AlertBuilder
from detect.matching.chains import ChainError, compile_chain, parse_chain
from detect.matching.engine import Engine
from detect.outputs.alerts import TextAlertWriter
from detect.proctree.settings import LabelRule, TreeSettings
from detect.proctree.tree import ProcessTree
from detect.sigma.load import load_detections
from detect.views.category import category_views
from tests.capture_events import capture_events_at

CAPTURE = "tests/proctree/captures/tree_detections"
CHAIN_RULE = "detections/command-and-control/web_server_shell_download_chain.yml"
RULE_HEAD = """title: {title}
id: 0f4b1a2e-7d3c-4e5f-8a9b-{suffix}
status: test
logsource: {{product: linux, category: process_creation}}
detection:
  selection: {{Image|endswith: {image}}}
  condition: selection
"""


def write_rule(tmp_path: Path, name: str, image: str, extra: str, suffix: str) -> Path:
    path = tmp_path / f"{name}.yml"
    text = RULE_HEAD.format(title=name, image=image, suffix=suffix) + extra
    path.write_text(text, encoding="utf-8")
    return path


def run(paths: list[Path | str], tree: ProcessTree | None = None) -> tuple[Engine, list[str]]:
    rules = load_detections(paths, default=False)
    assert not rules.errors, rules.errors
    engine = Engine(rules.rules, tree=tree or ProcessTree())
    found = [
        f"{match.rule.title}:{event.serial}"
        for event in capture_events_at(CAPTURE)
        for match in engine.evaluate(event)
    ]
    return engine, found


def test_a_chain_matches_only_along_one_ancestry_line(tmp_path: Path) -> None:
    _, found = run([CHAIN_RULE])
    assert found == ["Download Tool Run by a Shell Below a Web Server:6466"]
    near = write_rule(
        tmp_path,
        "direct",
        "/curl",
        "chain:\n  - selection: {Image|endswith: /python3.11}\n    max_distance: 1\n",
        "000000000001",
    )
    _, direct = run([near])  # curl's parent is the CGI bash, not the web server
    assert direct == []
    far = write_rule(
        tmp_path,
        "far",
        "/curl",
        "chain:\n  - selection: {Image|endswith: /python3.11}\n    max_distance: 2\n",
        "000000000002",
    )
    assert run([far])[1] == ["far:6466"]


def test_a_detection_labels_the_process_and_its_descendants(tmp_path: Path) -> None:
    labeller = write_rule(
        tmp_path, "sshd copy", "/srv/sshd", "process_label: remote\n", "000000000003"
    )
    tester = tmp_path / "tester.yml"
    tester.write_text(
        RULE_HEAD.format(title="below remote", image="x", suffix="000000000004").replace(
            "{Image|endswith: x}", "{ProcessLabels: remote}"
        )
    )
    _, found = run([labeller, tester])
    assert found == [
        "sshd copy:6490",
        "below remote:6492",  # the bash it forks, then that bash's curl and wget
        "below remote:6494",
        "below remote:6497",
    ]


def test_a_malformed_chain_is_rejected_with_its_reason(tmp_path: Path) -> None:
    bad = write_rule(tmp_path, "bad", "/curl", "chain:\n  - {ProcessLabels: web}\n", "00000000005a")
    engine, found = run([bad])
    assert found == [] and engine.applicable == 0
    (error,) = engine.rejected
    assert "chain.0: a step is a mapping with `selection`" in str(error)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ([], "non-empty list"),
        ([{"selection": {"Image": "x"}, "max_distance": 0}], "max_distance"),
        ([{"selection": "nginx"}], "selection: expected"),
        ([{"selection": {"Image": "x"}, "extra": 1}], "a step is a mapping"),
    ],
)
def test_chain_form_errors(data: object, reason: str) -> None:
    with pytest.raises(ChainError, match=reason):
        parse_chain(data)


def test_a_chain_step_must_compile() -> None:
    with pytest.raises(ChainError, match=r"chain\.0: selection"):
        compile_chain([{"selection": {"Image|nosuchmodifier": "x"}}], "process_creation")


def test_a_chain_is_compiled_once_for_its_data_and_view() -> None:
    """The checks and the engine's dispatch both compile a rule's chain: the second gets the
    first's (immutable) chain; other data, another view or a number for its text do not."""
    data = [{"selection": {"Image|endswith": "/sshd"}, "max_distance": 2}]
    chain = compile_chain(data, "process_creation")
    assert compile_chain([dict(step) for step in data], "process_creation") is chain
    assert compile_chain(data, "file_event") is not chain
    other = [{"selection": {"Image|endswith": "/nginx"}, "max_distance": 2}]
    assert compile_chain(other, "process_creation") is not chain
    number, text = ([{"selection": {"pid": value}}] for value in (5, "5"))
    assert compile_chain(number, "process_creation") is not compile_chain(text, "process_creation")
    for _ in range(2):  # an error is raised every time, never remembered as a chain
        with pytest.raises(ChainError):
            compile_chain([{"selection": {"Image|nosuchmodifier": "x"}}], "process_creation")


def test_audit_keys_label_processes() -> None:
    tree = ProcessTree(TreeSettings(labels=(LabelRule("forker", keys=("pt_fork",)),)))
    events = capture_events_at(CAPTURE)
    for event in events:
        tree.observe(event)
    labelled = {p.pid for g in tree.graphs.values() for p in g if "forker" in p.labels}
    script = events[0].process
    assert script.pid in labelled  # the scenario's bash forks its commands
    last = next(e for e in events if e.serial == 6514)  # rm -rf, forked by the scenario
    view = category_views(last)["process_creation"]
    assert view["process.labels"] == ["forker"]


def test_alerts_carry_and_draw_the_ancestry() -> None:
    rules = load_detections([CHAIN_RULE], default=False)
    engine = Engine(rules.rules)
    build = AlertBuilder()
    alerts = [build(m) for e in capture_events_at(CAPTURE) for m in engine.evaluate(e)]
    (alert,) = alerts
    chain = alert.ancestry
    assert chain is not None
    assert [entry.get("executable") for entry in chain] == [
        None,
        "/usr/bin/bash",
        "/usr/bin/python3.11",
        "/usr/bin/bash",
        "/usr/bin/curl",
    ]
    assert chain[2]["labels"] == ["web"] and chain[3]["user"] == "65534"
    assert chain[4]["start_from"] == "fork" and chain[0]["seen_from"] == "ppid"
    assert "start" not in chain[0] and "first_seen" in chain[0]
    out = io.StringIO()
    TextAlertWriter(out)(alert)
    text = out.getvalue()
    assert "  ancestry:\n    pid " in text
    assert "      └─ pid " in text and "/usr/bin/python3.11 (root) python3 -m http.server" in text
    assert text.index("/usr/bin/python3.11 (root)") < text.index("/usr/bin/curl (65534)")


def test_keyword_tests_do_not_read_the_ancestors() -> None:
    events = capture_events_at(CAPTURE)
    tree = ProcessTree()
    for event in events:
        tree.observe(event)
    curl = next(e for e in events if e.serial == 6466)
    view = category_views(curl)["process_creation"]
    assert view["process.parent.command_line"].startswith("/bin/bash /tmp/detect-capture/www")
    assert not any("http.server" in str(value) for value in view.values())
