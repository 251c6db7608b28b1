"""The graph of one host's processes: parent -> child edges between `Process` nodes.

The tree keeps everything about a process on its `Process` object; the graph only knows who
is whose child, in the order processes and edges were added (so the tree's passes over it are
deterministic). It offers the part of networkx's `DiGraph` interface the tree uses (same names,
same order; a missing node or edge raises KeyError), without networkx: importing networkx
costs ~22 MB of memory (285 modules) for a dict of dicts, a seventh of the scan's budget, and
it kept an attribute dict's slot per node and per edge besides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from detect.proctree.process import Process


class ProcessGraph:
    """Nodes in the order added; each node's children and parents in the order linked."""

    __slots__ = ("children", "parents")

    def __init__(self) -> None:
        self.children: dict[Process, dict[Process, None]] = {}
        self.parents: dict[Process, dict[Process, None]] = {}

    def add_node(self, node: Process) -> None:
        if node not in self.children:
            self.children[node] = {}
            self.parents[node] = {}

    def add_edge(self, parent: Process, child: Process) -> None:
        self.add_node(parent)
        self.add_node(child)
        self.children[parent][child] = None
        self.parents[child][parent] = None

    def has_edge(self, parent: Process, child: Process) -> bool:
        found = self.children.get(parent)
        return found is not None and child in found

    def remove_edge(self, parent: Process, child: Process) -> None:
        if not self.has_edge(parent, child):
            raise KeyError(f"no edge {parent!r} -> {child!r}")
        del self.children[parent][child]
        del self.parents[child][parent]

    def remove_node(self, node: Process) -> None:
        """The node and every edge to or from it."""
        for child in self.children[node]:  # KeyError when absent
            del self.parents[child][node]
        del self.children[node]
        for parent in self.parents[node]:
            del self.children[parent][node]
        del self.parents[node]

    def successors(self, node: Process) -> Iterator[Process]:
        return iter(self.children[node])

    def predecessors(self, node: Process) -> Iterator[Process]:
        return iter(self.parents[node])

    def __contains__(self, node: object) -> bool:
        return node in self.children

    def __iter__(self) -> Iterator[Process]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)
