"""The process tree's API: identity, placeholders, forks, execs, exits, labels, bounds."""

from __future__ import annotations

import pytest

from detect.proctree.fields import ancestry, entity_id, tree_fields
from detect.proctree.process import PPID, Process
from detect.proctree.settings import (
    LabelRule,
    SettingsError,
    TreeSettings,
    load_settings,
    settings_from_dict,
)
from detect.proctree.tree import ProcessTree

WEB = LabelRule("web", images=("nginx",), args=("* -m http.server*",))
BUILD = LabelRule("build", keys=("ci_job",))


def make_tree(**settings: object) -> ProcessTree:
    return ProcessTree(TreeSettings(labels=(WEB, BUILD), **settings))  # type: ignore[arg-type]


def spawn(tree: ProcessTree, parent: Process, pid: int, path: str, t: int) -> Process:
    child = tree.fork(parent, pid, t, t)
    tree.exec(child, path, (path.rpartition("/")[2],), t)
    return child


def test_a_placeholder_parent_is_filled_by_its_own_events() -> None:
    tree = make_tree()
    parent = tree.placeholder("h", 10, 1000, 1)
    child = tree.create("h", 11, 1000, 1, parent)
    assert parent.placeholder and parent.origin == PPID
    assert "ParentImage" not in tree_fields(child)
    grand = tree.placeholder("h", 5, 1001, 2)
    tree.adopt(parent, grand)
    tree.exec(parent, "/usr/sbin/nginx", ("nginx",), 1001)
    fields = tree_fields(child)
    assert fields["ParentImage"] == "/usr/sbin/nginx"
    assert fields["ProcessLabels"] == ["web"]
    assert fields["ProcessTreeDepth"] == 2


def test_labels_propagate_to_descendants_and_follow_changes() -> None:
    tree = make_tree()
    root = tree.create("h", 1, 0, 0, None)
    server = spawn(tree, root, 2, "/usr/bin/python3", 1)
    shell = spawn(tree, server, 3, "/bin/sh", 2)
    assert "ProcessLabels" not in tree_fields(shell)
    tree.exec(server, "/usr/bin/python3", ("python3", "-m", "http.server"), 3)
    assert tree_fields(shell)["ProcessLabels"] == ["web"]  # cache invalidated by the exec
    tree.label(shell, "suspicious")
    tool = spawn(tree, shell, 4, "/usr/bin/curl", 4)
    assert tree_fields(tool)["ProcessLabels"] == ["suspicious", "web"]
    assert tree_fields(tool)["AncestorImages"] == ["/bin/sh", "/usr/bin/python3"]


def test_a_fork_of_a_held_pid_is_a_new_process() -> None:
    tree = make_tree()
    root = tree.create("h", 1, 0, 0, None)
    old = spawn(tree, root, 7, "/usr/bin/true", 1)
    new = spawn(tree, root, 7, "/usr/bin/id", 5)
    assert old is not new and old.exit_ms == 5
    assert tree.lookup("h", 7) is new
    assert tree.stats.reused == 1


def test_a_late_fork_adopts_the_process_its_child_events_made() -> None:
    tree = make_tree()
    root = tree.create("h", 1, 0, 0, None)
    early = tree.create("h", 9, 100, 5, tree.placeholder("h", 8, 100, 5))
    parent = spawn(tree, root, 8, "/bin/bash", 90)
    assert tree.fork(parent, 9, 90, 4) is early  # the fork completed after the child's event
    assert early.parent is parent


def test_exited_processes_leave_after_the_grace_period_ancestors_stay() -> None:
    tree = make_tree(grace_ms=1000)
    root = tree.create("h", 1, 0, 0, None)
    shell = spawn(tree, root, 2, "/bin/bash", 0)
    child = spawn(tree, shell, 3, "/bin/sleep", 10)
    tree.end(shell, 20)
    tree.advance(5000)
    assert tree.lookup("h", 2) is shell  # exited, but the parent of a living process
    tree.end(child, 6000)
    tree.advance(6999)
    assert len(tree) == 3
    tree.advance(7000)
    assert len(tree) == 1 and tree.lookup("h", 2) is None
    assert tree.stats.expired == 2


def test_the_table_is_bounded_and_evictions_are_counted() -> None:
    tree = make_tree(max_processes=50)
    root = tree.create("h", 1, 0, 0, None)
    shell = spawn(tree, root, 2, "/bin/bash", 0)
    for pid in range(100, 400):
        spawn(tree, shell, pid, "/usr/bin/true", pid)
        assert len(tree) <= 50
    assert tree.stats.evicted == tree.stats.evicted_living > 0
    assert tree.lookup("h", 2) is shell and tree.lookup("h", 1) is root
    assert tree.lookup("h", 399) is not None  # the most recent stay


def test_ancestry_lists_oldest_first() -> None:
    tree = make_tree()
    root = tree.create("h", 1, 0, 0, None)
    shell = spawn(tree, root, 2, "/bin/bash", 1500)
    chain = ancestry(shell)
    assert [entry["pid"] for entry in chain] == [1, 2]
    assert chain[1] == {
        "pid": 2,
        "entity_id": entity_id(shell),
        "executable": "/bin/bash",
        "command_line": "bash",
        "start": "1970-01-01T00:00:01.500Z",
        "start_from": "fork",
    }


def test_settings_are_validated() -> None:
    assert load_settings().max_processes > 0
    assert {rule.label for rule in load_settings().labels} >= {"web", "ssh"}
    good = settings_from_dict({"grace_seconds": 5, "labels": {"db": {"images": ["postgres"]}}})
    assert good.grace_ms == 5000 and good.labels[0].matches_image("/usr/lib/bin/postgres")
    bad = (
        {"labels": {"web": {"image": ["nginx"]}}},
        {"labels": {"web": {"images": "nginx"}}},
        {"max_processes": "many"},
        {"unknown": 1},
        [],
    )
    for data in bad:
        with pytest.raises(SettingsError):
            settings_from_dict(data)
