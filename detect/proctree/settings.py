"""Settings of the process tree: bounds, and the labels processes get by image, args or key.

The user's configuration is YAML (`mappings/proctree.yaml` is the default, validated strictly:
a bad entry fails at start-up); `TreeSettings` is what the tree runs with. `settings_from_dict`
is the one translation between them; tests build `TreeSettings` directly.

A label rule names a label and what gives it: `images` (globs on the executable's basename, or
on its whole path when the glob holds a `/`), `args` (globs on the command line, its first word
(the program as invoked) cut to its basename: `python3 -m http.server` whether it was run as
`python3` or `/usr/bin/python3`), `keys` (audit keys of the process's events). A process that
matches gets the label; its descendants inherit it (everything below a web server is `web`).
An `args` glob that starts with the program (`python* -m http.server*`) does not match a shell
whose `-c` script runs that command (`bash -c '... exec python3 -m http.server'`): the shell is
not the server, and only becomes it if it execs it (then that exec gives the label).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from detect.core.errors import DetectError
from detect.core.resources import mapping_path
from detect.core.yamlio import parse_yaml
from detect.proctree.fields import MAX_DEPTH

GRACE_MS = 60_000  # exited processes stay this long (audit time) for late events
MAX_PROCESSES = 50_000  # per pipeline, all its hosts (~630 bytes each); then LRU leaves go
# a process no event has shown for this long (audit time) leaves, unless it is an ancestor of
# one still in the tree or carries a label: exits are often not audited, so without this a
# long stream keeps every process it ever saw until the count bound is reached
IDLE_MS = 6 * 60 * 60 * 1000
MAX_CACHED_PATHS = 4096  # executables, and command lines, whose labels are remembered
TOP_KEYS = frozenset(("grace_seconds", "idle_seconds", "max_processes", "labels"))
LABEL_KEYS = frozenset(("images", "args", "keys"))


class SettingsError(DetectError):
    pass


@dataclass(frozen=True)
class LabelRule:
    label: str
    images: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    by_name: re.Pattern[str] = field(init=False, repr=False, compare=False)
    by_path: re.Pattern[str] = field(init=False, repr=False, compare=False)
    by_args: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [glob for glob in self.images if "/" not in glob]
        paths = [glob for glob in self.images if "/" in glob]
        object.__setattr__(self, "by_name", _globs(names, re.IGNORECASE))
        object.__setattr__(self, "by_path", _globs(paths, 0))
        object.__setattr__(self, "by_args", _globs(self.args, re.IGNORECASE | re.DOTALL))

    def matches_image(self, path: str) -> bool:
        if self.by_path.fullmatch(path) is not None:
            return True
        return self.by_name.fullmatch(path.rpartition("/")[2]) is not None

    def matches_args(self, command_line: str) -> bool:
        """`command_line` as `program_line` gives it."""
        return self.by_args.fullmatch(command_line) is not None


def program_line(command_line: str) -> str:
    """The command line with its first word (the program as invoked) cut to its basename."""
    program, space, rest = command_line.partition(" ")
    return program.rpartition("/")[2] + space + rest


def _globs(globs: list[str] | tuple[str, ...], flags: int) -> re.Pattern[str]:
    if not globs:
        return re.compile(r"(?!)")
    return re.compile("|".join(fnmatch.translate(glob) for glob in globs), flags)


@dataclass(frozen=True)
class TreeSettings:
    grace_ms: int = GRACE_MS
    max_processes: int = MAX_PROCESSES
    labels: tuple[LabelRule, ...] = ()
    max_depth: int = MAX_DEPTH
    key_labels: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    arg_rules: tuple[LabelRule, ...] = field(default=(), compare=False, repr=False)
    path_labels: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    line_labels: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    idle_ms: int = IDLE_MS  # last: settings are built by keyword, older positional calls hold

    def __post_init__(self) -> None:
        if self.max_processes < 1 or self.grace_ms < 0 or self.idle_ms < 1:
            raise SettingsError("max_processes and idle must be positive, grace not negative")
        by_key: dict[str, tuple[str, ...]] = {}
        for rule in self.labels:
            for key in rule.keys:
                by_key[key] = (*by_key.get(key, ()), rule.label)
        object.__setattr__(self, "key_labels", by_key)
        object.__setattr__(self, "arg_rules", tuple(rule for rule in self.labels if rule.args))

    def image_labels(self, path: str, command_line: str | None) -> tuple[str, ...]:
        """Labels an exec of `path` with `command_line` gives. Both halves are remembered
        (bounded tables): a label depends only on the path, or only on the command line."""
        if not self.labels:
            return ()
        found = _remembered(self.path_labels, path, self._path_labels)
        if command_line and self.arg_rules:
            extra = _remembered(self.line_labels, command_line, self._line_labels)
            if extra:
                return (*found, *(label for label in extra if label not in found))
        return found

    def _path_labels(self, path: str) -> tuple[str, ...]:
        return tuple(rule.label for rule in self.labels if rule.matches_image(path))

    def _line_labels(self, command_line: str) -> tuple[str, ...]:
        line = program_line(command_line)
        return tuple(rule.label for rule in self.arg_rules if rule.matches_args(line))


def _remembered(
    table: dict[str, tuple[str, ...]], text: str, compute: Callable[[str], tuple[str, ...]]
) -> tuple[str, ...]:
    found = table.get(text)
    if found is None:
        if len(table) >= MAX_CACHED_PATHS:
            table.clear()
        found = table[text] = compute(text)
    return found


def settings_from_dict(data: Any, source: str = "settings") -> TreeSettings:
    if not isinstance(data, dict) or not set(data) <= TOP_KEYS:
        raise SettingsError(f"{source}: expected a mapping of {', '.join(sorted(TOP_KEYS))}")
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise SettingsError(f"{source}: labels: expected a mapping of label -> images/args/keys")
    rules = tuple(_label_rule(source, name, entry) for name, entry in labels.items())
    grace = data.get("grace_seconds", GRACE_MS // 1000)
    idle = data.get("idle_seconds", IDLE_MS // 1000)
    most = data.get("max_processes", MAX_PROCESSES)
    numbers = (grace, idle)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers) or (
        not isinstance(most, int) or isinstance(most, bool)
    ):
        raise SettingsError(
            f"{source}: grace_seconds, idle_seconds and max_processes must be numbers"
        )
    return TreeSettings(
        grace_ms=int(grace * 1000), max_processes=most, labels=rules, idle_ms=int(idle * 1000)
    )


def _label_rule(source: str, name: object, entry: Any) -> LabelRule:
    where = f"{source}: labels.{name}"
    if not isinstance(name, str) or not name or not isinstance(entry, dict):
        raise SettingsError(f"{where}: expected a name and a mapping of images/args/keys")
    if not entry or not set(entry) <= LABEL_KEYS:
        raise SettingsError(f"{where}: keys must be among images, args, keys")
    parts: dict[str, tuple[str, ...]] = {}
    for key, values in entry.items():
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise SettingsError(f"{where}.{key}: expected a list of strings")
        parts[key] = tuple(values)
    return LabelRule(name, **parts)


def load_settings(path: Path | None = None) -> TreeSettings:
    source = path or mapping_path("proctree.yaml")
    return _load(str(source))


@cache
def _load(source: str) -> TreeSettings:
    try:
        data = parse_yaml(Path(source).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SettingsError(f"{source}: {error}") from None
    return settings_from_dict(data, source)
