"""Processes no event has shown for `idle_ms` of audit time leave the tree (exits are often not
audited), but never an ancestor of what stays, nor a labelled process."""

from __future__ import annotations

import pytest

from detect.proctree.process import Process
from detect.proctree.settings import LabelRule, SettingsError, TreeSettings, settings_from_dict
from detect.proctree.tree import ProcessTree

WEB = LabelRule("web", images=("nginx",))


def spawn(tree: ProcessTree, parent: Process, pid: int, path: str, t: int) -> Process:
    child = tree.fork(parent, pid, t, t)
    tree.exec(child, path, (path.rpartition("/")[2],), t)
    return child


def test_idle_leaves_go_their_ancestors_after_them_labelled_ones_stay() -> None:
    tree = ProcessTree(TreeSettings(labels=(WEB,), idle_ms=8000))
    root = tree.create("h", 1, 0, 0, None)
    shell = spawn(tree, root, 2, "/bin/bash", 0)
    web = spawn(tree, root, 3, "/usr/sbin/nginx", 0)
    spawn(tree, shell, 100, "/usr/bin/sleep", 0)
    recent = spawn(tree, shell, 200, "/usr/bin/top", 9000)
    assert web.labels == ("web",) and len(tree) == 5
    tree.advance(9500)  # the first look is due one sweep later
    assert len(tree) == 5
    tree.advance(10_500)  # shown last before 2,500: the sleep, a leaf; bash has a child
    assert tree.lookup("h", 100) is None and tree.lookup("h", 2) is shell
    assert tree.stats.idle == 1
    tree.advance(20_000)  # top is idle now, then bash is an idle leaf; nginx has a label
    assert tree.lookup("h", 200) is None and tree.lookup("h", 2) is None
    assert tree.lookup("h", 3) is web and tree.lookup("h", 1) is root  # nginx's parent stays
    assert tree.stats.idle == 3 and len(tree) == 2
    assert recent.last_ms == 9000


def test_a_process_shown_again_is_not_idle() -> None:
    tree = ProcessTree(TreeSettings(idle_ms=8000))
    root = tree.create("h", 1, 0, 0, None)
    tree.advance(1)
    for now in range(1000, 40_000, 1000):
        root.last_ms = now  # what observe does for each event of the process
        tree.advance(now)
    assert tree.lookup("h", 1) is root and tree.stats.idle == 0


def test_idle_seconds_is_read_from_the_settings_file_and_checked() -> None:
    assert settings_from_dict({"idle_seconds": 90}).idle_ms == 90_000
    with pytest.raises(SettingsError):
        settings_from_dict({"idle_seconds": "a day"})
    with pytest.raises(SettingsError):
        TreeSettings(idle_ms=0)
