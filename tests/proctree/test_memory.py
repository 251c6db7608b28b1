"""Must-show 5: one million short-lived processes keep the table within its bound.

Drives the tree's API directly (no parsing): a shell forks a million children, each execs;
two in three exit (and leave after the one-second grace period), one in three is never seen
exiting, as when exit_group is not audited, so the table fills up and the least recently seen
leaves are evicted. The table never holds more than its maximum; the shell and its ancestors,
the ancestors of every living process, stay.
"""

from __future__ import annotations

from detect.proctree.settings import TreeSettings
from detect.proctree.tree import ProcessTree

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
    assert len(tree.current) <= MAX and len(tree.exited) <= 1001
    assert sum(len(graph) for graph in tree.graphs.values()) == len(tree)
    assert stats.processes == PROCESSES + 2
    assert stats.expired + stats.evicted == PROCESSES + 2 - len(tree)
    assert stats.evicted_living > 300_000  # never seen exiting: only the bound removes them
    assert tree.lookup("h", 2) is shell and tree.lookup("h", 1) is init
