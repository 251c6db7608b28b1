"""The category table: which syscalls make which Sigma category, and which PATH records are
their targets (`mappings/categories.yaml`, loaded once on first use and validated strictly).

Data about syscalls, no view code: the category views (`detect.views.category`) read it per
event, and the audit rule generator (`detect.auditgen.derive`) reads it to know what to audit.

- `categories`: each category's syscalls and, for file categories, the nametypes of the PATH
  records naming its target files;
- `opens`: the open family, whose category depends on the flags: the argument holding them
  (`aN`), `write` (the call always writes: creat) or `unknown` (the flags are not logged);
- `initiated`: the network syscalls the process initiates (the peer is the destination).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from detect.core.errors import DetectError
from detect.core.resources import mapping_path
from detect.core.yamlio import parse_yaml

WRITE_FLAGS: Final = 0o1 | 0o2 | 0o100 | 0o1000  # O_WRONLY | O_RDWR | O_CREAT | O_TRUNC
WRITE_FORM: Final = "write"  # an open call that always writes (creat)
UNKNOWN_FORM: Final = "unknown"  # an open call whose flags the record does not show
FLAG_FORMS: Final = (WRITE_FORM, UNKNOWN_FORM)
NAMETYPES: Final = frozenset(("NORMAL", "CREATE", "DELETE", "PARENT", "UNKNOWN"))
CATEGORY_KEYS: Final = frozenset(("syscalls", "targets"))
FILE_EVENT, FILE_ACCESS = "file_event", "file_access"
PROCESS_CREATION, NETWORK_CONNECTION = "process_creation", "network_connection"


class CategoryError(DetectError):
    pass


@dataclass(frozen=True)
class CategoryTable:
    """`mappings/categories.yaml`, checked."""

    by_syscall: dict[str, tuple[str, ...]]  # syscall -> its categories (not the open family)
    targets: dict[str, tuple[str, ...]]  # file category -> PATH nametypes of its targets
    opens: dict[str, str]  # open-family syscall -> flags argument, `write` or `unknown`
    initiated: frozenset[str]
    names: frozenset[str]  # every category a view can be built for
    _offered: dict[tuple[str, bool, bool], dict[str, tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )  # `offered`, by its arguments

    def offered(self, syscall: str, creates: bool, inet: bool) -> dict[str, tuple[str, ...]]:
        """The categories a (non-open) `syscall` offers, each with its target nametypes:
        `process_creation` only when the event `creates` a process (has an EXECVE record),
        `network_connection` only over `inet`. Made once per syscall and case, and shared
        (do not mutate): at most four per syscall of the table."""
        key = (syscall, creates, inet)
        found = self._offered.get(key)
        if found is None:
            names = self.by_syscall.get(syscall, ())
            found = self._offered[key] = {
                name: self.targets.get(name, ())
                for name in names
                if (creates or name != PROCESS_CREATION) and (inet or name != NETWORK_CONNECTION)
            }
        return found

    def syscalls_of(self, category: str) -> frozenset[str]:
        """The syscalls that make `category` (the open family aside: see `opens`)."""
        return frozenset(s for s, names in self.by_syscall.items() if category in names)


@cache
def load_categories(path: Path | None = None) -> CategoryTable:
    source = path or mapping_path("categories.yaml")
    data = parse_yaml(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or set(data) != {"categories", "opens", "initiated"}:
        raise CategoryError(f"{source}: expected the keys categories, opens and initiated")
    by_syscall: dict[str, list[str]] = {}
    targets: dict[str, tuple[str, ...]] = {}
    for name, entry in data["categories"].items():
        _check_category(source, name, entry)
        for syscall in entry["syscalls"]:
            by_syscall.setdefault(syscall, []).append(name)
        if "targets" in entry:
            targets[name] = tuple(entry["targets"])
    opens = {str(k): str(v) for k, v in data["opens"].items()}
    for syscall, form in opens.items():
        if form not in FLAG_FORMS and not (form[:1] == "a" and form[1:].isdigit()):
            raise CategoryError(f"{source}: opens.{syscall}: {form!r} is not aN, write, unknown")
    frozen = {syscall: tuple(names) for syscall, names in by_syscall.items()}
    names = frozenset((*data["categories"], FILE_EVENT, FILE_ACCESS))
    return CategoryTable(frozen, targets, opens, frozenset(data["initiated"]), names)


def _check_category(source: Path, name: str, entry: Any) -> None:
    where = f"{source}: categories.{name}"
    if not isinstance(entry, dict) or not {"syscalls"} <= set(entry) <= CATEGORY_KEYS:
        raise CategoryError(f"{where}: needs syscalls (and targets for file categories)")
    if not set(entry.get("targets", ())) <= NAMETYPES:
        raise CategoryError(f"{where}: unknown nametype in {entry['targets']}")
