"""The alerts of every capture and sample in the repository, one digest line per alert.

Each capture and sample log (tests/**/captures, examples/, detections/) is scanned on its own
with the shipped detections and, where ../shared/sigma is present, SigmaHQ's Linux rules, as
`detect scan` does; each alert is written as `file<TAB>rule id<TAB>sha1 of the alert's JSON`
(keys sorted, the rule file named from the checkout or SigmaHQ's folder, the program's version in
`agent.version` left out), in the order the scan wrote them. `tests/pipeline/alerts.digest`
holds the digest of the code as it was before the stage packages (the layout refactor must not
change one alert); a change of behaviour is committed with a regenerated digest:

    .venv/bin/python scripts/alert_digest.py > tests/pipeline/alerts.digest
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson

from detect.core import native

if __name__ == "__main__":  # the code `detect` would run: the sources under DETECT_PURE=1 or
    native.use_current_code()  # with a stale build (before anything imports a hot module)

from detect.auditd.export import printable
from detect.core.alert import Alert
from detect.pipeline.factory import scan_files
from detect.sigma.load import load_detections

ROOT = Path(__file__).resolve().parent.parent
SIGMA = ROOT.parent / "shared" / "sigma" / "rules" / "linux"
PATTERNS = ("tests/**/captures/*.log", "examples/*.log", "detections/**/*.log")


def logs(root: Path = ROOT) -> list[str]:
    """Every capture and sample log, as paths from the repository, sorted."""
    return sorted(str(p.relative_to(root)) for pattern in PATTERNS for p in root.glob(pattern))


def rule_source(document: dict[str, object], root: Path, sigma: Path) -> str:
    """The alert's rule file named from the checkout or from SigmaHQ's folder, so that the digest
    does not depend on where either lies (the logs' own text, which names the folder where they
    were captured, is left as it is)."""
    source = str(document["detect"]["rule_source"])  # type: ignore[index]
    for folder, label in ((sigma, "SIGMA"), (root, "ROOT")):
        for spelling in {str(folder), str(folder.resolve())}:
            if source.startswith(spelling + "/"):
                return label + source[len(spelling) :]
    return source


def digest_lines(root: Path = ROOT, sigma: Path = SIGMA) -> Iterator[str]:
    rules = load_detections([str(sigma)] if sigma.is_dir() else [])
    for name in logs(root):
        alerts: list[Alert] = []
        scan_files([str(root / name)], rules, alerts.append)
        for alert in alerts:
            document = alert.document()
            document["detect"]["rule_source"] = rule_source(document, root, sigma)
            document["agent"] = {**document["agent"], "version": "-"}  # not the alert's content
            text = orjson.dumps(printable(document), option=orjson.OPT_SORT_KEYS)
            yield f"{name}\t{document['rule']['id']}\t{hashlib.sha1(text).hexdigest()[:16]}"


if __name__ == "__main__":
    sys.stdout.writelines(line + "\n" for line in digest_lines())
