"""`detect --config FILE`: the options of every command, in one YAML file (packaging/detect.yaml).

The file holds a section per command (`scan:`, `stream:`, `events:`…; a group's section holds
its commands' sections: `audit-rules: {generate: {...}}`) and a `common:` section for options
several commands share (`rules`, `host`, `tuning`…: each command that has the option takes
it). A key is an option's long name without its dashes (`min-level` or `min_level`; `rules`
for `--rules`, `format` for `--format`); its value is what the flag takes (a list for a
repeatable option, true/false for a switch). Paths mean what they mean on the command line
(relative ones from the working folder).

The file becomes click's `default_map`: a flag given on the command line wins over the file,
the file over the built-in default. Every option a command has is a key, also the options
added later: nothing to list here. The file is read with the project's safe YAML loader and
checked before any command runs: the shape with pydantic (a model per command built from its
options), each value by the option's own type; an error names `file:line`, and an unknown key
lists the valid ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
import pydantic
from yaml.nodes import MappingNode

from detect.core.errors import DetectError, Location
from detect.sigma.documents import Document, line_of, read_documents

COMMON = "common"
MAX_BYTES = 1 << 20
YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigError(DetectError):
    """A configuration file that cannot be used; says where."""

    reason: str
    location: Location = Location()  # noqa: RUF009 - frozen, shared safely

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


def load_config(path: Path, group: click.Group) -> dict[str, Any]:
    """The file as a `default_map` for `group` (its commands' sections, `common` spread into
    each command that has the option), or ConfigError."""
    document = _read(path)
    data = document.data if document.data is not None else {}
    where = _Where(path, document)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of command sections", Location(str(path), 1))
    common = data.get(COMMON)
    common = {} if common is None else common
    sections = {name: value for name, value in data.items() if name != COMMON}
    result = _group_map(group, sections, (), where)
    _spread_common(group, common, result, where)
    return result


@dataclass(frozen=True)
class _Where:
    path: Path
    document: Document

    def at(self, path: YamlPath) -> Location:
        return Location(str(self.path), line_of(self.document.node, list(path)))

    def error(self, path: YamlPath, reason: str) -> ConfigError:
        shown = ".".join(str(part) for part in path)
        return ConfigError(f"{shown}: {reason}" if shown else reason, self.at(path))


def _read(path: Path) -> Document:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(f"larger than {MAX_BYTES} bytes", Location(str(path)))
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", Location(str(path))) from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8: {error.reason}", Location(str(path))) from None
    documents, problem = read_documents(text)
    if problem is not None:
        raise ConfigError(problem.reason, Location(str(path), problem.line))
    if len(documents) > 1:
        raise ConfigError("one YAML document expected", Location(str(path), documents[1].line))
    if not documents:
        return Document({}, MappingNode("tag:yaml.org,2002:map", []), 1)
    return documents[0]


# -- sections --------------------------------------------------------------------------------


def _group_map(
    group: click.Group, sections: dict[Any, Any], path: YamlPath, where: _Where
) -> dict[str, Any]:
    commands = _commands(group)
    out: dict[str, Any] = {}
    for name, value in sections.items():
        here = (*path, name)
        command = commands.get(name) if isinstance(name, str) else None
        if command is None:
            valid = ", ".join(sorted([*commands, *([COMMON] if not path else [])]))
            raise where.error(here, f"no such command (sections: {valid})")
        if value is None:
            continue
        if not isinstance(value, dict):
            raise where.error(here, "expected a mapping of options")
        if isinstance(command, click.Group):
            out[name] = _group_map(command, value, here, where)
        else:
            out[name] = _options(command, value, here, where)
    return out


def _commands(group: click.Group) -> dict[str, click.Command]:
    """The group's visible commands, those it imports when asked for too (cli.lazy)."""
    context = click.Context(group)
    found: dict[str, click.Command] = {}
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if command is not None and not command.hidden:
            found[name] = command
    return found


def _options(
    command: click.Command, section: dict[Any, Any], path: YamlPath, where: _Where
) -> dict[str, Any]:
    """A command's section checked: its keys are option names, its values their types."""
    options = option_names(command)
    values: dict[str, Any] = {}
    keys: dict[str, Any] = {}
    for key, value in section.items():
        option = options.get(_normal(key)) if isinstance(key, str) else None
        if option is None:
            valid = ", ".join(sorted(_shown(options)))
            raise where.error((*path, key), f"no such option of {command.name} (keys: {valid})")
        if option.name in values:
            raise where.error((*path, key), f"given twice (as {keys[option.name]!r})")
        name = str(option.name)
        values[name], keys[name] = value, key
    return _validate(command, options, values, keys, path, where)


def option_names(command: click.Command) -> dict[str, click.Option]:
    """A command's options by their long names (`min_level` for `--min-level`); flags of
    their own (`--help`, `--version`) are not options to configure."""
    out: dict[str, click.Option] = {}
    for param in command.params:
        if not isinstance(param, click.Option) or param.expose_value is False:
            continue
        for flag in param.opts:
            if flag.startswith("--"):
                out[_normal(flag)] = param
    return out


def _normal(key: str) -> str:
    return key.lstrip("-").replace("-", "_")


def _shown(options: dict[str, click.Option]) -> list[str]:
    return [name.replace("_", "-") for name in options]


def _validate(
    command: click.Command,
    options: dict[str, click.Option],
    values: dict[str, Any],
    keys: dict[str, Any],
    path: YamlPath,
    where: _Where,
) -> dict[str, Any]:
    """The values checked by a pydantic model of the command's options, then by each option's
    own click type (ranges, choices, durations, files that must exist)."""
    by_name = {str(option.name): option for option in options.values()}
    fields: dict[str, Any] = {name: (_annotation(by_name[name]), None) for name in values}
    model = pydantic.create_model(
        f"{command.name}_section", __config__=pydantic.ConfigDict(extra="forbid"), **fields
    )
    try:
        checked = model.model_validate(values).model_dump()
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        name, *inner = first["loc"]
        raise where.error((*path, keys[str(name)], *inner), first["msg"]) from None
    context = click.Context(command, info_name=command.name)
    for name, value in checked.items():
        try:
            by_name[name].type_cast_value(context, value)
        except click.BadParameter as error:
            raise where.error((*path, keys[name]), error.format_message()) from None
    return dict(checked)


def _annotation(option: click.Option) -> Any:
    """The Python type of what the option takes, for its pydantic field."""
    kind = option.type
    base: Any
    if option.is_flag and not option.count:
        base = bool
    elif isinstance(kind, click.Choice):
        base = Literal[tuple(kind.choices)]
    elif isinstance(kind, click.types.IntParamType):
        base = int
    elif isinstance(kind, click.types.FloatParamType):
        base = float
    elif isinstance(kind, click.Path | click.types.StringParamType):
        base = str
    else:  # a type of our own (a duration: `10m` or seconds): its click type checks it
        base = str | int | float
    if option.multiple:
        return list[base]
    return base | None


# -- common ----------------------------------------------------------------------------------


def _spread_common(group: click.Group, common: Any, into: dict[str, Any], where: _Where) -> None:
    """`common`: each key must be an option of some command; each command that has it takes
    it (checked by that command's type) under what its own section says."""
    if not isinstance(common, dict):
        raise where.error((COMMON,), "expected a mapping of options")
    for key, value in common.items():
        found = list(_commands_with(group, (), key))
        if not found:
            raise where.error((COMMON, key), "no command has this option")
        for names, command in found:
            section = into
            for name in names:
                section = section.setdefault(name, {})
            for option, checked in _options(command, {key: value}, (COMMON,), where).items():
                section.setdefault(option, checked)


def _commands_with(
    group: click.Group, path: tuple[str, ...], key: Any
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in _commands(group).items():
        if isinstance(command, click.Group):
            yield from _commands_with(command, (*path, name), key)
        elif isinstance(key, str) and _normal(key) in option_names(command):
            yield (*path, name), command
