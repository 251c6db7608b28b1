"""Must-show 5: one million short-lived processes keep the table within its bound.

Drives the tree's API directly (no parsing): a shell forks a million children, each execs;
two in three exit (and leave after the one-second grace period), one in three is never seen
exiting, as when exit_group is not audited, so the table fills up and the least recently seen
leaves are evicted. The table never holds more than its maximum; the shell and its ancestors,
the ancestors of every living process, stay.

And what keeps each process small: graphs hold no attributes (and are not networkx's: its import
alone costs ~22 MB), images share equal texts.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tracemalloc

import pytest

from detect.proctree.settings import TreeSettings
from detect.proctree.tree import MAX_INTERNED_TEXT, ProcessTree

PROCESSES = 1_000_000
MAX = 20_000


def test_a_million_short_lived_processes_stay_within_the_bound() -> None:
    tree = ProcessTree(TreeSettings(grace_ms=1000, max_processes=MAX))
    init = tree.create("h", 1, 0, 0, None)
    shell = tree.fork(init, 2, 0, 1)
    tree.exec(shell, "/usr/bin/bash", ("bash",), 0)
    largest = 0
    for i in range(PROCESSES):
        child = tree.fork(shell, 100 + i, i, i)
        tree.exec(child, "/usr/bin/true", ("true",), i)
        if i % 3:
            tree.end(child, i)
        tree.advance(i)
        largest = max(largest, len(tree))
    stats = tree.stats
    assert largest == MAX
    assert sum(len(pids) for pids in tree.current.values()) <= MAX and len(tree.exited) <= 1001
    assert sum(len(graph) for graph in tree.graphs.values()) == len(tree)
    assert stats.processes == PROCESSES + 2
    assert stats.expired + stats.evicted == PROCESSES + 2 - len(tree)
    assert stats.evicted_living > 300_000  # never seen exiting: only the bound removes them
    assert tree.lookup("h", 2) is shell and tree.lookup("h", 1) is init


def test_process_graphs_keep_only_who_is_whose_child() -> None:
    tree = ProcessTree(TreeSettings())
    init = tree.create("h", 1, 0, 0, None)
    shell = tree.fork(init, 2, 1, 1)
    child = tree.fork(shell, 3, 2, 2)
    graph = tree.graphs["h"]
    with pytest.raises(TypeError):
        graph.add_node(shell, image="/bin/sh")  # type: ignore[call-arg]  # no attributes
    assert not hasattr(graph, "__dict__")  # nor anywhere to put them
    assert list(graph.successors(init)) == [shell] and list(graph.predecessors(child)) == [shell]
    assert list(graph) == [init, shell, child] and graph.has_edge(shell, child)
    graph.remove_node(shell)
    assert list(graph) == [init, child] and not graph.has_edge(shell, child)
    assert list(graph.successors(init)) == [] and list(graph.predecessors(child)) == []
    with pytest.raises(KeyError):
        graph.remove_node(shell)
    with pytest.raises(KeyError):
        graph.remove_edge(init, child)


def test_the_graph_is_a_forest_a_leaf_holds_no_dict() -> None:
    tree = ProcessTree(TreeSettings())
    init = tree.create("h", 1, 0, 0, None)
    other = tree.create("h", 7, 0, 0, None)
    child = tree.fork(init, 3, 2, 2)
    graph = tree.graphs["h"]
    assert graph.children[child] is None and graph.parent(child) is init
    with pytest.raises(ValueError, match="already has a parent"):
        graph.add_edge(other, child)
    graph.add_edge(init, child)  # the edge it has: nothing changes
    assert list(graph.successors(init)) == [child] and graph.children[other] is None
    tree.adopt(child, other)  # the tree moves a process: old edge first
    assert graph.parent(child) is other and graph.children[init] is None
    assert list(graph.successors(other)) == [child]


def test_a_process_costs_under_700_bytes() -> None:
    """A fork and an exec, measured as docs/process-tree.md says (it was ~920 bytes with a
    dict per node for its one parent and an empty one per leaf)."""
    tree = ProcessTree(TreeSettings(max_processes=10**6))
    init = tree.create("h", 1, 0, 0, None)
    shell = tree.fork(init, 2, 0, 1)
    tree.exec(shell, "/usr/bin/bash", ("bash",), 0)
    count = 20_000
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            child = tree.fork(shell, 100 + i, i, i)
            tree.exec(child, "/usr/bin/true", ("true", str(i % 50)), i)
        gc.collect()
        per_process = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert per_process < 700, per_process


def test_the_tree_does_not_import_networkx() -> None:
    """networkx costs ~22 MB to import: the process graph is a small class of its own."""
    code = "import sys, detect.proctree.tree; print('networkx' in sys.modules)"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "False"


def test_images_share_equal_paths_command_lines_and_argvs() -> None:
    tree = ProcessTree(TreeSettings())
    init = tree.create("h", 1, 0, 0, None)
    first, second = tree.fork(init, 2, 1, 1), tree.fork(init, 3, 1, 2)
    for process in (first, second):
        path = "".join(["/usr/bin/", "python3"])  # equal, but a new string each time
        tree.exec(process, path, ("python3", "".join(["-", "c"])), 2)
        tree.seen(process, "".join(["/usr/bin/", "id"]), 3, "".join(["id", " -u"]))
    a, b = first.images, second.images
    assert a == b and a[0].path is b[0].path and a[0].args is b[0].args
    assert a[1].path is b[1].path and a[1].title is b[1].title
    long_path = "/" + "x" * MAX_INTERNED_TEXT  # too long to be shared: still right
    tree.seen(first, long_path, 4, None)
    assert first.executable == long_path and long_path not in tree.strings


@pytest.mark.parametrize(
    "argv",
    [(), ("",), ("", ""), ("bash",), ("sh", "-c", "echo a  b"), ("x\udcff", "é", " ")],
)
def test_a_packed_argv_gives_back_the_same_arguments(argv: tuple[str, ...]) -> None:
    tree = ProcessTree(TreeSettings())
    process = tree.create("h", 1, 0, 0, None)
    tree.exec(process, "/bin/x", list(argv), 1)
    image = process.image
    assert image is not None and image.argv == argv
    assert image.command_line == " ".join(argv) == process.command_line
    tree.seen(process, "/bin/y", 2, "y title")
    assert process.image is not None and process.image.argv is None
    assert process.command_line == "y title"
