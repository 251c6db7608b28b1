"""Loading: SigmaHQ's Linux rules, rejected aggregations, broken files, filters, correlations."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from sigma.rule import SigmaRule

from detect.core.errors import Location
from detect.sigma.compile import AGGREGATION_MESSAGE
from detect.sigma.load import find_rule_files, load_rules
from detect.sigma.model import LogSource, RuleError

SIGMA = Path(__file__).resolve().parents[3] / "shared" / "sigma"
SUPPORTED = [
    SIGMA / "rules" / "linux",
    SIGMA / "rules-threat-hunting" / "linux",
    SIGMA / "rules-emerging-threats",
    SIGMA / "deprecated" / "linux",
]
needs_sigma = pytest.mark.skipif(not SIGMA.is_dir(), reason="../shared/sigma is not available")


def rule_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.yml"))


@needs_sigma
def test_every_sigmahq_linux_rule_loads_and_compiles() -> None:
    loaded = load_rules(SUPPORTED)
    rejected = [e for e in loaded.errors if e.reason == AGGREGATION_MESSAGE]
    failures = [str(e) for e in loaded.errors if e.reason != AGGREGATION_MESSAGE]
    assert failures == [], "rules that failed to load or compile:\n" + "\n".join(failures)
    files = rule_files(*SUPPORTED)
    assert len(loaded.rules) + len(rejected) == len(files) > 250
    assert {rule.source.source for rule in loaded.rules} | {
        error.location.source for error in rejected
    } == {str(path) for path in files}
    assert all(rule.source.line == 1 for rule in loaded.rules)


@needs_sigma
def test_rules_carry_their_metadata() -> None:
    path = SIGMA / "rules/linux/auditd/execve/lnx_auditd_chattr_immutable_removal.yml"
    (rule,) = load_rules([path]).rules
    assert rule.id == "a5b977d6-8a81-4475-91b9-49dbfcd941f7"
    assert rule.title == "Remove Immutable File Attribute - Auditd"
    assert rule.level == "medium"
    assert rule.status == "test"
    assert rule.logsource == LogSource("linux", None, "auditd")
    assert "attack.t1222.002" in rule.tags
    assert rule.references and rule.falsepositives and rule.description
    assert rule.source == Location(str(path), 1)
    assert rule.match({"type": "EXECVE", "a0": "chattr", "a1": "-i", "a2": "/etc/passwd"})
    assert not rule.match({"type": "EXECVE", "a0": "chattr", "a1": "+i"})


@needs_sigma
def test_old_aggregation_syntax_is_rejected_clearly() -> None:
    unsupported = SIGMA / "unsupported" / "linux"
    loaded = load_rules([unsupported])
    piped = {
        str(path)
        for path in rule_files(unsupported)
        if "|" in path.read_text().split("condition:", 1)[1].splitlines()[0]
    }
    assert len(piped) == 6
    assert {error.location.source for error in loaded.errors} == piped
    for error in loaded.errors:
        assert error.reason == AGGREGATION_MESSAGE
        condition_line = _line_of(Path(error.location.source), "    condition:")
        assert error.location.line == condition_line
    # The one rule there without a pipe (fields no single auditd record has) still compiles.
    assert [rule.title for rule in loaded.rules] == ["OMIGOD SCX RunAsProvider ExecuteScript"]


def _line_of(path: Path, prefix: str) -> int:
    lines = path.read_text().splitlines()
    return next(number for number, text in enumerate(lines, 1) if text.startswith(prefix))


@needs_sigma
def test_correlations_are_returned_separately_and_their_rules_compile() -> None:
    loaded = load_rules([SIGMA / "correlation-examples"])
    assert loaded.errors == []
    # event_count_ecs.yml reuses event_count.yml's id: loaded once, with a warning naming both
    assert len(loaded.correlations) == 10
    [duplicate] = loaded.warnings
    assert duplicate.location.source.endswith("event_count_ecs.yml")
    assert "event_count.yml:1" in duplicate.reason
    assert {c.type.name.lower() for c in loaded.correlations} >= {"event_count", "temporal"}
    assert len(loaded.rules) == 3


GOOD = """\
title: Good
id: 0f8d7e8a-0000-4000-8000-000000000001
logsource: {product: linux, service: auditd}
detection:
    selection:
        type: EXECVE
        a0: whoami
    condition: selection
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


def test_broken_files_are_reported_with_file_and_line_and_the_rest_load(tmp_path: Path) -> None:
    write(tmp_path, "good.yml", GOOD)
    syntax = write(
        tmp_path, "sub/syntax.yaml", "title: x\ndetection:\n  sel: [a, b\n  condition: sel\n"
    )
    modifier = write(
        tmp_path,
        "modifier.yml",
        """\
        title: Bad Modifier
        logsource: {product: linux}
        detection:
            selection:
                type: EXECVE
                a0|nosuchmodifier: x
            condition: selection
        """,
    )
    backref = write(
        tmp_path,
        "backref.yml",
        """\
        title: Backreference
        logsource: {product: linux}
        detection:
            selection:
                type: EXECVE
                a1|re: '(a+)\\1'
            condition: selection
        """,
    )
    undefined = write(
        tmp_path,
        "undefined.yml",
        """\
        title: Undefined Selection
        logsource: {product: linux}
        detection:
            selection:
                type: EXECVE
            condition: selection and not filter
        """,
    )
    loaded = load_rules([tmp_path])
    assert [rule.title for rule in loaded.rules] == ["Good"]
    by_file = {Path(error.location.source).name: error for error in loaded.errors}
    assert set(by_file) == {"syntax.yaml", "modifier.yml", "backref.yml", "undefined.yml"}
    assert by_file["syntax.yaml"].location == Location(str(syntax), 4)
    assert by_file["syntax.yaml"].reason.startswith("invalid YAML")
    assert by_file["modifier.yml"] == RuleError(
        "Unknown modifier 'nosuchmodifier'", Location(str(modifier), 6), "Bad Modifier"
    )
    assert by_file["backref.yml"].location == Location(str(backref), 6)
    assert "not supported by RE2" in by_file["backref.yml"].reason
    assert by_file["undefined.yml"] == RuleError(
        "Detection 'filter' not defined in detections",
        Location(str(undefined), 6),
        "Undefined Selection",
    )


def test_re2_rejects_backreferences_and_lookaround(tmp_path: Path) -> None:
    for name, regex in [("backref", "(a)\\1"), ("lookahead", "a(?=b)"), ("lookbehind", "(?<!x)a")]:
        write(
            tmp_path,
            f"{name}.yml",
            f"""\
            title: {name}
            logsource: {{product: linux}}
            detection:
                selection:
                    a1|re: '{regex}'
                condition: selection
            """,
        )
    loaded = load_rules([tmp_path])
    assert loaded.rules == []
    assert sorted(e.rule for e in loaded.errors) == ["backref", "lookahead", "lookbehind"]
    assert all("RE2" in e.reason and e.location.line == 5 for e in loaded.errors)


def test_a_bad_document_does_not_take_the_others_in_its_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "multi.yml",
        GOOD
        + "---\ntitle: No Detection\nlogsource: {product: linux}\n---\n"
        + GOOD.replace("Good", "Also Good").replace("0001", "0002"),
    )
    loaded = load_rules([path])
    assert [rule.title for rule in loaded.rules] == ["Good", "Also Good"]
    assert loaded.errors == [
        RuleError(
            "Sigma rule must have a detection definitions", Location(str(path), 10), "No Detection"
        )
    ]
    assert loaded.rules[1].source == Location(str(path), 13)


def test_duplicate_keys_and_non_mapping_documents_are_reported(tmp_path: Path) -> None:
    dup = write(
        tmp_path,
        "dup.yml",
        GOOD.replace("    condition: selection\n", "    condition: selection\n    condition: x\n"),
    )
    scalar = write(tmp_path, "scalar.yml", "just a string\n")
    loaded = load_rules([dup, scalar, tmp_path / "missing.yml"])
    assert loaded.rules == []
    assert [(Path(e.location.source).name, e.location.line) for e in loaded.errors] == [
        ("dup.yml", 9),
        ("missing.yml", 0),
        ("scalar.yml", 1),
    ]
    assert "duplicate key 'condition'" in loaded.errors[0].reason
    assert loaded.errors[1].reason == "no such file or directory"


def test_unresolved_placeholder_names_the_rule_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "expand.yml",
        """\
        title: Expand
        logsource: {product: linux}
        detection:
            selection:
                type: PATH
                name|expand: '%secrets%'
            condition: selection
        """,
    )
    loaded = load_rules([path])
    assert loaded.errors == [
        RuleError("unresolved placeholder %secrets%", Location(str(path), 6), "Expand")
    ]
    loaded = load_rules([path], placeholders={"secrets": ["/etc/shadow", "/root/.ssh/*"]})
    (rule,) = loaded.rules
    assert rule.match({"type": "PATH", "name": "/root/.ssh/id_rsa"})
    assert not rule.match({"type": "PATH", "name": "/etc/passwd"})


FILTER = """\
title: Ignore Admin Host
logsource: {product: linux}
filter:
    rules:
        - %s
    host:
        hostname|startswith: admin-
    condition: not host
"""


def test_filters_apply_to_the_rules_they_name(tmp_path: Path) -> None:
    write(tmp_path, "good.yml", GOOD)
    write(tmp_path, "other.yml", GOOD.replace("Good", "Other").replace("0001", "0002"))
    write(tmp_path, "filter.yml", FILTER % "0f8d7e8a-0000-4000-8000-000000000001")
    loaded = load_rules([tmp_path])
    assert loaded.errors == []
    good, other = sorted(loaded.rules, key=lambda rule: rule.title)
    event = {"type": "EXECVE", "a0": "whoami"}
    assert good.match({**event, "hostname": "web-1"})
    assert not good.match({**event, "hostname": "admin-1"})
    assert other.match({**event, "hostname": "admin-1"})


def test_filters_by_rule_name_and_a_filter_that_applies_nowhere(tmp_path: Path) -> None:
    write(tmp_path, "good.yml", GOOD + "name: good_rule\n")
    write(tmp_path, "filter.yml", FILTER % "good_rule")
    unused = write(tmp_path, "unused.yml", FILTER.replace("Admin Host", "Nothing") % "no_such_rule")
    loaded = load_rules([tmp_path])
    (good,) = loaded.rules
    assert not good.match({"type": "EXECVE", "a0": "whoami", "hostname": "admin-1"})
    assert loaded.errors == [
        RuleError(
            "the filter applies to no loaded rule", Location(str(unused), 1), "Ignore Nothing"
        )
    ]


def test_prepare_hook_runs_before_compiling(tmp_path: Path) -> None:
    write(tmp_path, "good.yml", GOOD)
    seen: list[str] = []

    def prepare(rule: SigmaRule) -> SigmaRule:
        seen.append(rule.title)
        return rule

    loaded = load_rules([tmp_path], prepare=prepare)
    assert seen == ["Good"] and len(loaded.rules) == 1


def test_rule_files_are_those_rglob_and_is_file_give_each_file_once(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for name in ["a.yml", "b.yaml", "c.YML", ".yml", "d.yml.txt", "sub/e.yml", ".hidden/f.yml"]:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text("title: t\n")
    (tree / "dir.yml").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "g.yml").write_text("title: t\n")
    (tree / "linked").symlink_to(tmp_path / "outside")  # a link to a folder: not searched
    (tree / "link.yml").symlink_to(tree / "a.yml")  # a link to a file: the same file
    (tree / "other.yml").symlink_to(tmp_path / "outside" / "g.yml")
    (tree / "broken.yml").symlink_to(tmp_path / "nowhere.yml")
    suffixed = [p for p in tree.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()]
    expected = sorted(suffixed, key=lambda path: path.parts)
    expected.remove(tree / "link.yml")  # after a.yml: read once, where it came first
    errors: list[RuleError] = []
    assert find_rule_files([tree, tree / "sub" / "e.yml"], errors) == expected
    assert not errors
    assert [p.relative_to(tree).as_posix() for p in expected] == [
        ".hidden/f.yml", "a.yml", "b.yaml", "other.yml", "sub/e.yml"
    ]  # fmt: skip
