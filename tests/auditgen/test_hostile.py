"""Hostile titles and values: nothing a rule author wrote reaches the audit rule file as a line.

auditctl reads a rule file line by line and splits on blanks (no quotes, no escapes), so a
title with a newline could smuggle `-D` or `-e 0` into the file, and a value with a blank would
be cut in two. Comments are made one printable line; a value auditctl cannot take refuses its
detection, with the reason, in `generate` and in `validate`.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from detect.auditgen.generate import Options, generate
from detect.auditgen.output import render_file
from detect.auditgen.parse import parse_rules
from detect.auditgen.safe import comment_text, unsafe_value
from detect.authoring.validate import validate
from detect.cli.commands import main
from detect.sigma.load import load_detections

RULE = """title: "{title}"
id: 6f0c9a4e-0000-4000-8000-00000000000{n}
status: test
logsource:
    product: linux
    category: file_event
detection:
    selection:
        TargetFilename|startswith: "{path}"
    condition: selection
level: low
"""
TITLES = [
    "Evil\\n-e 0\\n-D",
    "Quote ' and \\\" and tab\\there",
    "Bell\\u0007 and NUL-free\\u001b[31m escape\\r-D",
    "Line\\u2028separator\\u0085next",
]
VALUES = ["/srv/ok/", "/srv/with space/", "/srv/new\\nline/", "/srv/ctl\\u0001x/"]


def write_rules(folder: Path) -> list[Path]:
    paths = []
    for n, (title, path) in enumerate(zip(TITLES, VALUES, strict=True)):
        file = folder / f"hostile{n}.yml"
        file.write_text(RULE.format(title=title, n=n, path=path), encoding="utf-8")
        paths.append(file)
    return paths


def test_generated_file_holds_no_line_the_author_wrote(tmp_path: Path) -> None:
    loaded = load_detections(write_rules(tmp_path), default=False)
    assert loaded.errors == [] and len(loaded.rules) == 4
    generated = generate(loaded.rules, Options(arch="x86_64"), str(tmp_path))
    text = render_file(generated)["detect.rules"]
    lines = text.split("\n")
    assert lines[-1] == "" and all("\r" not in line for line in lines)
    for line in lines[:-1]:
        assert line.startswith(("#", "-")), repr(line)
        assert line.isprintable(), repr(line)
    assert [line for line in lines if line.startswith(("-e", "-D"))] == ["-D"]  # ours
    parse_rules(text)  # every line reads back
    watches = [line for line in lines if line.startswith("-w ")]
    assert watches == ["-w /srv/ok -p w -k hostile0"]  # a file_event: writes, no chmod
    refused = {d.rule.title: d.refused for d in generated.derivations if d.refused}
    assert len(refused) == 3
    assert any("holds a blank" in r for r in refused[loaded.rules[1].title])
    assert any("holds a newline" in r for r in refused[loaded.rules[2].title])
    assert any("U+0001" in r for r in refused[loaded.rules[3].title])
    assert sum(line.startswith("# refused: ") for line in lines) == 3


def test_cli_refuses_with_the_reason_and_validate_reports_it(tmp_path: Path) -> None:
    paths = write_rules(tmp_path)
    runner = CliRunner()
    args = ["audit-rules", "generate", "--portable", "--no-default-rules"]
    for path in paths:
        args += ["--rules", str(path)]
    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert done.stderr.count("refused ") == 3 and "holds a newline" in done.stderr
    problems = [str(p) for p in validate(paths) if "audit rules:" in p.message]
    assert len(problems) == 3 and all(f"{tmp_path}/hostile" in p for p in problems)


def test_unsafe_values_and_comment_text() -> None:
    assert unsafe_value("/etc/passwd") is None
    assert "a blank" in (unsafe_value("/a b") or "")
    assert "a tab" in (unsafe_value("/a\tb") or "")
    assert comment_text("# t\n-D\r\x00\u2028x") == "# t?-D?x"
