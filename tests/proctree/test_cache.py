"""What the tree skips must not change what detections see.

The tree moves its epoch (every cached field stale) only when a process with children changes
what its descendants read, and marks a process's own fields stale only when its labels or its
parent change. A random walk through the tree's API checks, after every step, that each
process's cached fields equal a fresh computation. The observer's shortcuts (the fast path
for known processes, the syscall name read without interpreting the record) are checked
against the long way on real captures.
"""

from __future__ import annotations

import random
from pathlib import Path

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.interpret import syscall_name
from detect.auditd.reassemble import Reassembler
from detect.auditd.record import parse_line
from detect.proctree.fields import tree_fields
from detect.proctree.observe import holder
from detect.proctree.process import MAX_CACHED, FieldCache, Process
from detect.proctree.settings import LabelRule, TreeSettings
from detect.proctree.tree import ProcessTree

CAPTURES = sorted((Path(__file__).parents[1] / "auditd" / "captures").glob("*.log")) + sorted(
    (Path(__file__).parent / "captures").glob("*.log")
)
LABELS = (
    LabelRule("web", images=("nginx",), args=("* -m http.server*",)),
    LabelRule("shell", images=("bash", "sh")),
)
PATHS = ("/usr/sbin/nginx", "/usr/bin/python3", "/bin/bash", "/bin/sh", "/usr/bin/id")
ARGVS = (("python3", "-m", "http.server"), ("sh", "-c", "id"), ("id",), None)
STEPS = 3000


def fresh_fields(process: Process) -> dict[str, object]:
    """The fields computed again, bypassing the cache (which is then refreshed)."""
    process.cached = None
    return tree_fields(process)


def random_step(tree: ProcessTree, rng: random.Random, living: list[Process], t: int) -> None:
    process = rng.choice(living)
    action = rng.randrange(8)
    if action == 0:
        living.append(tree.fork(process, rng.randrange(2, 60), t, t))
    elif action in (1, 2):
        path = rng.choice(PATHS)
        tree.exec(process, path, rng.choice(ARGVS), t, title=rng.choice((None, path)))
    elif action == 3:
        tree.seen(process, rng.choice(PATHS), t, rng.choice((None, "sh -c id")))
    elif action == 4:
        tree.set_user(process, str(rng.randrange(3)), "someone")
    elif action == 5:
        tree.label(process, rng.choice(("web", "suspicious")))
    elif action == 6:
        tree.adopt(process, rng.choice(living))
    else:
        tree.end(process, t)
        tree.advance(t)


def test_cached_fields_always_equal_a_fresh_computation() -> None:
    rng = random.Random(7)
    tree = ProcessTree(TreeSettings(labels=LABELS, grace_ms=50, max_processes=40))
    living = [tree.create("h", 1, 0, 0, None)]
    checked = 0
    for t in range(1, STEPS):
        random_step(tree, rng, living, t)
        living = [p for p in living if p.exit_ms is None and tree.lookup("h", p.pid) is p]
        living = living or [tree.create("h", 1, t, t, None)]
        processes = tree.processes("h")
        cached = [tree_fields(p) for p in processes]  # what the cache holds now
        assert cached == [fresh_fields(p) for p in processes], f"step {t}"
        checked += len(processes)
    assert checked > STEPS  # the walk kept a tree, not a single process


def test_an_exec_moves_the_epoch_only_when_descendants_can_see_it() -> None:
    tree = ProcessTree(TreeSettings(labels=LABELS))
    root = tree.create("h", 1, 0, 0, None)
    shell = tree.fork(root, 2, 1, 1)
    tree.exec(shell, "/bin/bash", ("bash",), 1)
    leaf = tree.fork(shell, 3, 2, 2)
    before = tree_fields(leaf)
    epoch = tree.epoch.value
    tree.exec(leaf, "/usr/bin/id", ("id",), 3)  # a leaf: nothing below reads it
    tree.set_user(leaf, "1000", "alice")
    assert tree.epoch.value == epoch and tree_fields(leaf) is before
    tree.exec(shell, "/bin/bash", ("bash",), 4)  # the same image again: nothing to see
    assert tree.epoch.value == epoch
    tree.exec(shell, "/usr/sbin/nginx", ("nginx",), 5)
    assert tree.epoch.value > epoch
    assert tree_fields(leaf)["ParentImage"] == "/usr/sbin/nginx"
    assert tree_fields(leaf)["ProcessLabels"] == ["shell", "web"]  # bash's label stays
    tree.label(leaf, "suspicious")  # a label of its own: its own fields change
    assert tree_fields(leaf)["ProcessLabels"] == ["shell", "suspicious", "web"]


def test_the_syscall_name_is_what_interpretation_gives() -> None:
    seen = 0
    for path in CAPTURES:
        for line in path.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
            if "type=SYSCALL" not in line:
                continue
            record = parse_line(line)
            assert syscall_name(record) == interpret.record_interpreted(record).get("SYSCALL")
            seen += 1
    assert seen > 100


def test_the_fast_path_finds_the_same_processes_as_the_long_way() -> None:
    """Events of known processes skip the ppid: a confirmed living process keeps its parent
    whatever a later event says, so the result is the holder the long way gives."""
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    for path in CAPTURES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            machine.push(line, str(path), number)
    machine.flush()
    fast, slow = ProcessTree(TreeSettings()), ProcessTree(TreeSettings())
    for event in events:
        found = fast.observe(event)
        syscall = event.first("SYSCALL")
        if found is None or syscall is None:
            continue
        expected = _holder_the_long_way(slow, event)
        slow.observe(event)
        assert found.key == expected.key
    assert fast.stats == slow.stats


def _holder_the_long_way(tree: ProcessTree, event: AuditEvent) -> Process:
    syscall = event.first("SYSCALL")
    assert syscall is not None
    fields = syscall.fields
    ppid = fields.get("ppid")
    tree.advance(event.time_ms)
    return holder(
        tree,
        event.node or "",
        int(fields["pid"]),
        int(ppid) if ppid and ppid.isdigit() else None,
        event.time_ms,
        event.serial,
    )


def test_only_the_latest_processes_keep_cached_fields() -> None:
    """A tree of many processes keeps the tree fields of its last MAX_CACHED to cache them; an
    older one computes them again, to the same values."""
    tree = ProcessTree(TreeSettings(labels=LABELS))
    init = tree.create("h", 1, 0, 0, None)
    tree.exec(init, "/usr/sbin/nginx", ("nginx",), 0)
    children = [tree.fork(init, 100 + i, i, i) for i in range(MAX_CACHED + 10)]
    before = [dict(tree_fields(child)) for child in children]
    cached = [child for child in children if child.cached is not None]
    assert len(cached) <= MAX_CACHED and children[0].cached is None
    assert [tree_fields(child) for child in children] == before


def test_trees_given_one_field_cache_share_its_bound() -> None:
    """Trees given one FieldCache (a worker's host pipelines) keep MAX_CACHED processes' fields
    between them, not MAX_CACHED each; a process whose fields were dropped computes the same
    ones again."""
    cache = FieldCache()
    trees = [ProcessTree(TreeSettings(labels=LABELS), cache) for _ in range(2)]
    children: list[Process] = []
    for tree in trees:
        init = tree.create("h", 1, 0, 0, None)
        tree.exec(init, "/usr/sbin/nginx", ("nginx",), 0)
        children += [tree.fork(init, 100 + i, i, i) for i in range(MAX_CACHED)]
    before = [dict(tree_fields(child)) for child in children]
    assert sum(child.cached is not None for child in children) == MAX_CACHED
    assert children[0].cached is None and children[-1].cached is not None
    assert [tree_fields(child) for child in children] == before
    alone = ProcessTree(TreeSettings(labels=LABELS))
    assert alone.epoch.cache is not cache and trees[1].epoch.cache is cache
