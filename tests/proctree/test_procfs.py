"""Seeding the tree from /proc, with a folder standing in for /proc."""

from __future__ import annotations

import os
from pathlib import Path

from detect.proctree.fields import tree_fields
from detect.proctree.procfs import seed_from_proc
from detect.proctree.tree import ProcessTree

BOOT = 1_795_000_000


def fake_process(root: Path, pid: int, ppid: int, ticks: int, exe: str, argv: list[str]) -> None:
    folder = root / str(pid)
    folder.mkdir()
    comm = Path(exe).name
    rest = " ".join(["S", str(ppid)] + ["0"] * 17 + [str(ticks)] + ["0"] * 5)
    (folder / "stat").write_text(f"{pid} ({comm} (x)) {rest}\n")
    (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (folder / "status").write_text(f"Name:\t{comm}\nUid:\t{33 if pid > 1 else 0}\t0\t0\t0\n")
    os.symlink(exe, folder / "exe")


def test_seeding_links_parents_and_labels(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text(f"cpu 1 2 3\nbtime {BOOT}\n")
    (tmp_path / "self").mkdir()
    fake_process(tmp_path, 1, 0, 100, "/usr/lib/systemd/systemd", ["/sbin/init"])
    fake_process(tmp_path, 50, 1, 250, "/usr/sbin/nginx", ["nginx: master process"])
    fake_process(tmp_path, 60, 50, 300, "/usr/bin/dash", ["sh", "-c", "id"])
    (tmp_path / "70").mkdir()  # vanished while read: no stat
    tree = ProcessTree()
    result = seed_from_proc(tree, procfs=tmp_path, host="web1")
    assert (result.seeded, result.skipped) == (3, 1)
    shell = tree.lookup("web1", 60)
    assert shell is not None and shell.start_ms == BOOT * 1000 + 3000
    fields = tree_fields(shell)
    assert fields["ParentImage"] == "/usr/sbin/nginx"
    assert fields["ParentCommandLine"] == "nginx: master process"
    assert fields["ParentUser"] == "33" and fields["GrandparentImage"] == "/usr/lib/systemd/systemd"
    assert fields["ProcessLabels"] == ["web"] and fields["ProcessTreeDepth"] == 2
    init = tree.lookup("web1", 1)
    assert init is not None and init.user == "root" and init.parent is None
