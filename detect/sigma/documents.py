"""Rule files as YAML documents: loaded safely, keeping where every key is.

Rule files are untrusted input: only YAML's safe constructors run, a duplicated key is an
error (as in pySigma), and each document keeps its node tree so that an error about a rule
can name the line of the key it concerns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from detect.core.yamlio import SafeLoader

BaseLoader: Any = SafeLoader


class RuleYamlLoader(BaseLoader):
    """YAML's safe loader, refusing duplicate keys in a mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return dict(super().construct_mapping(node, deep))


class Document:
    """One YAML document of a rule file: its data, its node tree, its first line (1-based).

    A document read back from the cache of parsed files (`cache.py`) has no node tree until
    one is asked for (only to locate an error): its file's text is then composed again."""

    __slots__ = ("_index", "_node", "_text", "data", "line")

    def __init__(self, data: Any, node: Node | None, line: int, text: str = "", index: int = 0):
        self.data = data
        self.line = line
        self._node = node
        self._text = text
        self._index = index

    @property
    def node(self) -> Node:
        if self._node is None:
            self._node = compose_all(self._text)[self._index]
        return self._node


def compose_all(text: str) -> list[Node]:
    """The node trees of the documents of `text` (which parsed before), without their data."""
    loader = RuleYamlLoader(text)
    try:
        return list(_nodes(loader))
    finally:
        loader.dispose()


@dataclass(frozen=True)
class YamlProblem:
    """Why a file's YAML could not be read past some point, and where."""

    reason: str
    line: int


def read_documents(text: str) -> tuple[list[Document], YamlProblem | None]:
    """The documents of `text` up to the first YAML error, and that error if there is one."""
    documents: list[Document] = []
    loader = RuleYamlLoader(text)
    try:
        for node in _nodes(loader):
            documents.append(Document(loader.construct_document(node), node, node_line(node)))
    except yaml.MarkedYAMLError as error:
        return documents, YamlProblem(_yaml_reason(error), _mark_line(error))
    except (yaml.YAMLError, RecursionError) as error:
        return documents, YamlProblem(f"invalid YAML: {error}", 0)
    finally:
        loader.dispose()
    return documents, None


def _nodes(loader: Any) -> Iterator[Node]:
    while loader.check_node():
        yield loader.get_node()


def _yaml_reason(error: yaml.MarkedYAMLError) -> str:
    parts = [part for part in (error.context, error.problem) if part]
    return "invalid YAML: " + ", ".join(parts) if parts else "invalid YAML"


def _mark_line(error: yaml.MarkedYAMLError) -> int:
    mark = error.problem_mark or error.context_mark
    return mark.line + 1 if mark is not None else 0


def node_line(node: Node) -> int:
    """The 1-based line where `node` starts."""
    return int(node.start_mark.line) + 1


def line_of(node: Node, path: Sequence[str | int]) -> int:
    """The line of the deepest key of `path` found under `node` (the document's line if none).

    Keys match exactly first, then by their field name (the part before `|`), so that
    `("detection", "selection", "CommandLine|contains")` finds `CommandLine|contains|all`.
    A number picks that item of a sequence; a key is searched for in each item of a sequence
    (lists of selections).
    """
    line = node_line(node)
    current = node
    for segment in path:
        found = child(current, segment, exact=True) or child(current, segment, exact=False)
        if found is None:
            break
        key, current = found
        line = node_line(key)
    return line


def child(node: Node, segment: str | int, exact: bool = True) -> tuple[Node, Node] | None:
    """The key and value of `segment` in a mapping (by name, or by field name unless `exact`),
    in an item of a sequence, or the item numbered `segment` (twice: it is its own key)."""
    if isinstance(segment, int):
        if isinstance(node, SequenceNode) and 0 <= segment < len(node.value):
            item: Node = node.value[segment]
            return item, item
        return None
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and _same_key(str(key.value), segment, exact):
                return key, value
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found = child(item, segment, exact)
            if found is not None:
                return found
    return None


def _same_key(key: str, wanted: str, exact: bool) -> bool:
    if exact:
        return key == wanted
    return key.split("|", 1)[0] == wanted.split("|", 1)[0]
