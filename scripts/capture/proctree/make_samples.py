#!/usr/bin/env python3
"""Write the sample files of the process-tree detections from tests/proctree/captures.

A tree detection needs the events of its process's ancestors, so its sample is the whole
capture, every event annotated: `# match:` on the events the scenario made to match (chosen
here by serial, from the scenario's description), `# ok:` on every other event. `detect test`
then checks the rule against these annotations.

    .venv/bin/python scripts/capture/proctree/make_samples.py
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CAPTURE = "tests/proctree/captures/tree_detections.log"
SCENARIO = "scripts/capture/proctree/tree_detections.sh"
HEADER_RE = re.compile(r"msg=audit\(\d+\.\d+:(\d+)\)")
# detection file -> (rule id, serials of the events that must match, what they are)
SAMPLES = {
    "detections/persistence/shell_under_web_server.yml": (
        "3ab9760b-26cf-41be-80ac-1abab91de007",
        {6464},
        "match: the CGI script's bash below `python3 -m http.server --cgi`. ok: every other "
        "event, among them shells below the scenario's bash, the setpriv'd bash, the sshd copy.",
    ),
    "detections/execution/interpreter_spawned_by_service_account.yml": (
        "c7f6c806-bd2a-4ed3-b9a7-4b9dbfaec74f",
        {6477, 6480},
        "match: `python3 -c pass` and `perl -e 1` started by bash running as www-data (33). "
        "ok: every other event, among them `python3 -c pass` started by root's bash and "
        "`/usr/bin/id` started by www-data's bash.",
    ),
    "detections/command-and-control/download_tool_below_ssh_session.yml": (
        "7465eb21-d98b-4340-b895-d55b82fbdcfd",
        {6494, 6497},
        "match: `curl --version` and `wget --version` run by bash below the sshd copy. ok: "
        "every other event, among them the same tools below root's bash and curl in the CGI.",
    ),
    "detections/command-and-control/web_server_shell_download_chain.yml": (
        "a71459b9-42e4-41e4-9dfc-bef8aae294e0",
        {6466},
        "match: `curl --version` run by the CGI script's bash below the web server. ok: every "
        "other event, among them curl and wget below the sshd copy and root's bash, and `id` "
        "run by the CGI script.",
    ),
}


def annotate(lines: list[str], rule_id: str, matches: set[int]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        found = HEADER_RE.search(line)
        serial = found.group(1) if found else ""
        if serial and serial not in seen:
            seen.add(serial)
            kind = "match" if int(serial) in matches else "ok"
            out.append(f"# {kind}: {rule_id}\n")
        out.append(line)
    return out


def main() -> None:
    lines = (REPO / CAPTURE).read_text(encoding="utf-8").splitlines(keepends=True)
    for rule_file, (rule_id, matches, what) in SAMPLES.items():
        head = [
            f"# Sample for {rule_id}: every event of {CAPTURE}, verbatim\n",
            f"# (scenario {SCENARIO}; the tree needs the ancestors' events).\n",
            f"# {what}\n",
        ]
        body = annotate(lines, rule_id, matches)
        target = REPO / rule_file.replace(".yml", ".log")
        target.write_text("".join(head + body), encoding="utf-8")


if __name__ == "__main__":
    main()
