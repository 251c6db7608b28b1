"""The networkx graph of one host's processes, thinned for a table of many thousands.

A plain `nx.DiGraph` gives every node an attribute dict and every edge a data dict (two dicts,
~130 bytes per process). The tree keeps everything on its `Process` objects and never sets
graph attributes, so all nodes share one attribute dict and all edges one data dict, the way
networkx's own documentation thins a graph (`edge_attr_dict_factory`, "ThinGraph"). The
shared dict refuses to be filled, so a caller that sets an attribute fails loudly instead of
giving it to every process.
"""

from __future__ import annotations

from typing import Any

import networkx as nx


class NoAttributes(dict[Any, Any]):
    """An attribute dict that stays empty (shared by every node and edge of a graph)."""

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("process graphs keep no attributes: set them on the Process")

    def update(self, *args: Any, **kwargs: Any) -> None:
        if any(args) or kwargs:
            raise TypeError("process graphs keep no attributes: set them on the Process")

    def setdefault(self, key: Any, default: Any = None) -> Any:
        raise TypeError("process graphs keep no attributes: set them on the Process")


NO_ATTRIBUTES = NoAttributes()


def _shared(_graph: object = None) -> NoAttributes:
    return NO_ATTRIBUTES


class ProcessGraph(nx.DiGraph):
    """Parent -> child edges between `Process` nodes; no node or edge attributes."""

    node_attr_dict_factory = _shared
    edge_attr_dict_factory = _shared
