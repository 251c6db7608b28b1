"""A generated rule set as files: one rules file, or `rules.d/` fragments for augenrules.

`render_file(generated, name)` gives `{name: text, <stem>.keys.json: key map}`;
`render_fragments(generated)` gives augenrules fragments, which it concatenates in name order:
`10-detect-control.rules`, `20-detect-exclude.rules` (when there are exclusions),
`50-detect.rules`, `99-detect-finalize.rules` (only with `-e 2`), and `detect.keys.json`.
Writing them is the caller's (the CLI's) job.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from detect.auditgen.derive import Derivation
from detect.auditgen.generate import Generated
from detect.auditgen.model import Comment, Item
from detect.auditgen.safe import comment_text
from detect.auditgen.write import write_items

KEYS_SUFFIX = ".keys.json"
FRAGMENT_KEYS = "detect.keys.json"
FRAGMENTS = (
    ("10-detect-control.rules", "controls"),
    ("20-detect-exclude.rules", "exclusions"),
    ("50-detect.rules", "rules"),
    ("99-detect-finalize.rules", "final"),
)


def notes(derivations: list[Derivation], unseen: dict[str, list[str]] | None = None) -> list[Item]:
    """A comment block: what derivation found about each detection worth a reader's eye: what
    was left out (cannot be bounded) or refused (a value auditctl cannot take), and why."""
    lines: list[Item] = []
    for found in sorted(derivations, key=lambda d: str(d.rule.source)):
        name = PurePosixPath(found.rule.source.source).stem
        texts = [f"# note: {name}: {note}" for note in found.notes]
        texts += [f"# left out: {name}: {reason}" for reason in found.unbounded]
        texts += [f"# refused: {name}: {reason}" for reason in found.refused]
        lines.extend(Comment(comment_text(text)) for text in texts)
    for names, sources in (unseen or {}).items():
        stems = ", ".join(PurePosixPath(source).stem for source in sources)
        text = f"# note: not audited: {names} (asked for by {stems})"
        lines.append(Comment(comment_text(text)))
    return lines


def host_notes(generated: Generated) -> list[Item]:
    return [Comment(comment_text(f"# host: {note}")) for note in generated.host_notes]


def render_file(generated: Generated, name: str = "detect.rules") -> dict[str, str]:
    head = [*notes(generated.derivations, generated.unseen), *host_notes(generated)]
    items = [*generated.controls[:2], *head, *generated.controls[2:]]
    items += [*generated.exclusions, *generated.rules, *generated.final]
    keys = PurePosixPath(name).with_suffix(KEYS_SUFFIX).name
    return {name: write_items(items), keys: generated.keymap.to_json()}


def render_fragments(generated: Generated) -> dict[str, str]:
    files: dict[str, str] = {}
    for name, part in FRAGMENTS:
        items: list[Item] = list(getattr(generated, part))
        if part == "rules":
            items = [
                *notes(generated.derivations, generated.unseen),
                *host_notes(generated),
                *items,
            ]
        if items:
            files[name] = write_items(items)
    files[FRAGMENT_KEYS] = generated.keymap.to_json()
    return files
