"""`detect --config FILE` (issue 17 item 6): per-command sections and `common`, keys are option
names, flags override the file, errors name `file:line` (and the valid keys); the shipped
example (packaging/detect.yaml) loads and is complete."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from detect.cli.commands import main
from detect.cli.config import ConfigError, load_config, option_names
from tests.scripts import load_script
from tests.stream.helpers import DETECT, REPO

config_example = load_script(REPO / "scripts" / "config_example.py", "config_example")

EXAMPLE = REPO / "packaging" / "detect.yaml"
LOG = REPO / "examples" / "exec_from_temp_dir.log"  # a real capture: medium alerts
RULES = REPO / "detections" / "execution"


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "detect.yaml"
    path.write_text(text)
    return path


def detect(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [str(DETECT), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def rule_ids(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {json.loads(line)["rule"]["id"] for line in result.stdout.splitlines()}


def test_the_shipped_example_loads_and_sets_what_it_says() -> None:
    loaded = load_config(EXAMPLE, main)
    assert loaded["scan"] == loaded["stream"] == {"min_level": "low"}


def test_the_shipped_example_is_current_and_names_every_option() -> None:
    assert EXAMPLE.read_text() == config_example.render()  # else: scripts/config_example.py
    keys = set(re.findall(r"^  (?:# )?([a-z][a-z0-9-]*):", EXAMPLE.read_text(), re.MULTILINE))
    for name in config_example.COMMANDS:
        wanted = {key.replace("_", "-") for key in option_names(main.commands[name])}
        assert wanted <= keys, (name, wanted - keys)


def test_the_file_sets_options_and_a_flag_overrides_it(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        f"common:\n  no-default-rules: true\n  rules: [{RULES}]\n"
        "scan:\n  min-level: critical\n  jobs: 1\n",
    )
    by_file = detect("--config", path, "scan", LOG)
    assert by_file.returncode == 0, by_file.stderr  # nothing is critical
    assert f"rules loaded {len(list(RULES.glob('*.yml')))}," in by_file.stderr  # `rules` applied
    by_flag = detect("--config", path, "scan", "--min-level", "medium", LOG)
    assert by_flag.returncode == 1
    assert rule_ids(by_flag) == {"96695c67-2249-44d8-8c3b-8d22f015b4e7"}
    by_env = subprocess.run(
        [str(DETECT), "scan", str(LOG)],
        capture_output=True,
        text=True,
        env={"DETECT_CONFIG": str(path), "PATH": "/usr/bin:/bin", "DETECT_PURE": "1"},
        timeout=120,
    )
    assert by_env.returncode == 0, by_env.stderr


def test_a_switch_the_file_turns_on_a_flag_turns_off(tmp_path: Path) -> None:
    """Every switch has an off form: `no-default-rules: true` in the file, `--default-rules`
    on the command line runs the shipped detections after all."""
    path = config(tmp_path, f"common:\n  no-default-rules: true\n  rules: [{RULES}]\n")
    only_given = detect("--config", path, "scan", "--jobs", "1", LOG)
    with_shipped = detect("--config", path, "scan", "--jobs", "1", "--default-rules", LOG)
    given = len(list(RULES.glob("*.yml")))
    assert f"rules loaded {given}," in only_given.stderr, only_given.stderr
    loaded = re.search(r"rules loaded (\d+),", with_shipped.stderr)
    assert loaded is not None and int(loaded.group(1)) > given, with_shipped.stderr
    commands = list(main.commands.values())
    while commands:
        command = commands.pop()
        commands.extend(getattr(command, "commands", {}).values())  # a group's commands
        for option in command.params:
            flag = getattr(option, "is_flag", False) and not getattr(option, "count", False)
            if flag and not option.secondary_opts:
                raise AssertionError(f"{command.name} {option.opts}: a switch with no off form")


def test_a_command_section_wins_over_common(tmp_path: Path) -> None:
    path = config(tmp_path, "common:\n  min-level: high\nscan:\n  min_level: medium\n")
    loaded = load_config(path, main)
    assert loaded["scan"]["min_level"] == "medium"
    assert loaded["stream"]["min_level"] == "high"
    assert loaded["test"]["min_level"] == "high"  # every command that has the option


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("scan:\n  min-levl: low\n", 2, "scan.min-levl: no such option of scan (keys: dask, "),
        ("scna:\n  jobs: 1\n", 1, "scna: no such command (sections: attack, audit-rules, "),
        ("scan:\n  jobs: 0\n", 2, "scan.jobs: Invalid value for '--jobs': 0 is not in the range"),
        ("scan:\n  jobs: many\n", 2, "scan.jobs: Input should be a valid integer"),
        ("scan:\n  min-level: urgent\n", 2, "scan.min-level: Input should be 'informational', "),
        ("scan:\n  rules: /x\n", 2, "scan.rules: Input should be a valid list"),
        ("stream:\n\n  rules: [a, 3]\n", 3, "stream.rules.1: Input should be a valid string"),
        (
            "scan:\n  dedup-window: soon\n",
            2,
            "scan.dedup-window: Invalid value for '--dedup-window'",
        ),
        ("common:\n  folow: x\n", 2, "common.folow: no command has this option"),
        (
            "scan:\n  jobs: 1\n  jobs: 2\n",
            3,
            "invalid YAML: while constructing a mapping, found duplicate key 'jobs'",
        ),
        (
            "scan:\n  min-level: low\n  min_level: low\n",
            3,
            "scan.min_level: given twice (as 'min-level')",
        ),
        ("scan: [jobs]\n", 1, "scan: expected a mapping of options"),
        ("- scan\n", 1, "expected a mapping of command sections"),
        ("scan:\n  jobs: [1\n", 3, ""),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = config(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path, main)
    assert str(raised.value).startswith(f"{path}:{line}: {message}")


def test_an_error_exits_2_before_the_command_runs(tmp_path: Path) -> None:
    path = config(tmp_path, "stream:\n  webhok: http://127.0.0.1:9/\n")
    result = detect("--config", path, "scan", LOG)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"config error: {path}:2: stream.webhok: no such option")
    assert "webhook" in result.stderr  # the valid keys are listed
    missing = detect("--config", tmp_path / "none.yaml", "scan", LOG)
    assert missing.returncode == 2
    assert "cannot read: No such file or directory" in missing.stderr


def test_group_sections_reach_their_commands(tmp_path: Path) -> None:
    path = config(tmp_path, "audit-rules:\n  generate:\n    keep-noise: true\n")
    assert load_config(path, main)["audit-rules"]["generate"]["keep_noise"] is True
    bad = config(tmp_path, "audit-rules:\n  generat: {}\n")
    with pytest.raises(ConfigError, match=r":2: audit-rules.generat: no such command"):
        load_config(bad, main)
