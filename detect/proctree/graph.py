"""The graph of one host's processes: parent -> child edges between `Process` nodes.

The tree keeps everything about a process on its `Process` object; the graph only knows who
is whose child, in the order processes and edges were added (so the tree's passes over it are
deterministic). It offers the part of networkx's `DiGraph` interface the tree uses (same names,
same order; a missing node or edge raises KeyError), without networkx: importing networkx
costs ~22 MB of memory (285 modules) for a dict of dicts, a seventh of the scan's budget, and
it kept an attribute dict's slot per node and per edge besides.

It is a forest, as a process tree is: a node has at most one parent (an edge to a node that
has one raises ValueError: the tree removes the old edge first). So a node's parent is a
reference, not a dict of one, and a leaf (most processes) holds None, not an empty dict:
~920 bytes a process (a fork and an exec) became ~630 (tests/proctree/test_memory.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from detect.proctree.process import Process

Children = dict["Process", None]  # in the order linked


class ProcessGraph:
    """Nodes in the order added; each node's children in the order linked, and its parent."""

    __slots__ = ("children", "parents")

    def __init__(self) -> None:
        self.children: dict[Process, Children | None] = {}  # None: a leaf
        self.parents: dict[Process, Process | None] = {}

    def add_node(self, node: Process) -> None:
        if node not in self.children:
            self.children[node] = None
            self.parents[node] = None

    def add_edge(self, parent: Process, child: Process) -> None:
        self.add_node(parent)
        self.add_node(child)
        known = self.parents[child]
        if known is parent:
            return
        if known is not None:
            raise ValueError(f"{child!r} already has a parent: {known!r}")
        children = self.children[parent]
        if children is None:
            self.children[parent] = {child: None}
        else:
            children[child] = None
        self.parents[child] = parent

    def has_edge(self, parent: Process, child: Process) -> bool:
        return child in self.parents and self.parents[child] is parent

    def remove_edge(self, parent: Process, child: Process) -> None:
        if not self.has_edge(parent, child):
            raise KeyError(f"no edge {parent!r} -> {child!r}")
        self._unlink(parent, child)
        self.parents[child] = None

    def remove_node(self, node: Process) -> None:
        """The node and every edge to or from it."""
        for child in self.children.pop(node) or ():  # KeyError when absent
            self.parents[child] = None
        parent = self.parents.pop(node)
        if parent is not None:
            self._unlink(parent, node)

    def _unlink(self, parent: Process, child: Process) -> None:
        children = self.children[parent]
        assert children is not None
        del children[child]
        if not children:
            self.children[parent] = None

    def successors(self, node: Process) -> Iterator[Process]:
        return iter(self.children[node] or ())

    def predecessors(self, node: Process) -> Iterator[Process]:
        parent = self.parents[node]
        return iter(() if parent is None else (parent,))

    def parent(self, node: Process) -> Process | None:
        """The node's parent in the graph (KeyError when the node is absent)."""
        return self.parents[node]

    def __contains__(self, node: object) -> bool:
        return node in self.children

    def __iter__(self) -> Iterator[Process]:
        return iter(self.children)

    def __len__(self) -> int:
        return len(self.children)
