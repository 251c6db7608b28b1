"""Triage's state kept compact (issue 20, flat memory): an incident's member events packed in
chunks, deadlines added once per (key, deadline) and their stale entries dropped, a dedup
group's events compressed against its first. Each gives back exactly what was put in, in the
same order."""

from __future__ import annotations

import pickle
import sys
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from detect.triage.deadlines import COMPACT_AT, Deadlines
from detect.triage.dedup import Group
from detect.triage.members import CHUNK, Members
from tests.triage.helpers import alert, rule


def test_members_come_back_in_order_across_chunks_and_pickling() -> None:
    members = Members()
    added = [
        ("h1" if i % 7 else None, i, f"2026-01-01T00:00:{i % 60:02d}.000Z")
        for i in range(3 * CHUNK + 5)
    ]
    for member in added:
        members.append(member)
    assert len(members) == len(added) and list(members) == added
    again = pickle.loads(pickle.dumps(members))
    assert list(again) == added and again == members
    assert again.documents()[CHUNK] == {
        "host": "h1",
        "serial": CHUNK,
        "@timestamp": added[CHUNK][2],
    }


def test_a_deadline_equal_to_its_keys_latest_is_added_once() -> None:
    deadlines: Deadlines[str] = Deadlines()
    for key, deadline in (("a", 10), ("b", 10), ("a", 10), ("a", 10), ("c", 5), ("b", 20)):
        deadlines.add("h", deadline, key)
    assert len(deadlines) == 4  # the two repeats of (a, 10) were not added
    assert list(deadlines.expired("h", 11)) == [(5, "c"), (10, "a")]  # b's 10 is stale
    deadlines.add("h", 10, "a")  # the first (a, 10) left the heap: added again
    assert list(deadlines.expired("h", 100)) == [(10, "a"), (20, "b")]
    assert deadlines.top("h") is None and len(deadlines) == 0


def test_a_key_is_heard_once_at_its_latest_deadline_in_deadline_order() -> None:
    """An incident extended past another's deadline closes after it, as its deadline says."""
    deadlines: Deadlines[str] = Deadlines()
    deadlines.add("h", 100, "a")
    deadlines.add("h", 200, "b")
    deadlines.add("h", 300, "a")  # a extended: its 100 is stale
    assert list(deadlines.expired("h", 150)) == []
    assert list(deadlines.expired("h", 400)) == [(200, "b"), (300, "a")]
    deadlines.add("h", 50, "a")  # a key that left comes back with an earlier deadline
    assert list(deadlines.expired("h", 60)) == [(50, "a")]


def test_a_key_back_at_a_stale_deadline_ties_in_the_order_of_its_new_entry() -> None:
    """Key 0 at 0, moved to 1 and 2, then back to 0 after key 1 was added at 0: its first entry
    (0, before key 1's) is stale, so key 1 comes first, compacted or not (hypothesis found the
    uncompacted heap yielding key 0 first from that stale entry)."""
    for compact_at in (1, 10**9):
        deadlines: Deadlines[int] = Deadlines(compact_at)
        for deadline, key in ((0, 0), (0, 1), (1, 0), (2, 0), (0, 0)):
            deadlines.add("h", deadline, key)
        assert list(deadlines.expired("h", 1)) == [(0, 1), (0, 0)]
        assert list(deadlines.expired("h", 10)) == []  # the entries at 1 and 2 are stale
        assert deadlines.top("h") is None


def test_stale_entries_do_not_pile_up() -> None:
    """An incident's deadline moves at nearly every alert: the heap stays near one entry per
    key, however many times each moved (it held one per move before)."""
    deadlines: Deadlines[int] = Deadlines()
    for move in range(20 * COMPACT_AT):
        deadlines.add("h", 1_000 + move, move % 10)
    assert len(deadlines) <= 2 * COMPACT_AT
    found = list(deadlines.expired("h", 10**9))
    last = 1_000 + 20 * COMPACT_AT - 10
    assert found == [(last + key, key) for key in range(10)]


Step = tuple[str, int, int]  # ("add", deadline, key) or ("expire", time, 0)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 60), st.integers(0, 6)),
        st.tuples(st.just("expire"), st.integers(0, 70), st.just(0)),
    ),
    max_size=400,
)


def run(plan: list[Step], compact_at: int) -> list[list[tuple[int, int]]]:
    deadlines: Deadlines[int] = Deadlines(compact_at)
    out = []
    for what, number, key in plan:
        if what == "add":
            deadlines.add("h", number, key)
        else:
            out.append(list(deadlines.expired("h", number)))
    out.append(list(deadlines.expired("h", 10**9)))
    return out


@settings(max_examples=300, deadline=None)
@given(steps)
def test_dropping_stale_entries_changes_nothing_heard(plan: list[Step]) -> None:
    """The same keys at the same deadlines in the same order, with the heap compacted as
    early as possible and never; and each key heard at most once per deadline it was given."""
    eager, never = run(plan, 1), run(plan, 10**9)
    assert eager == never
    for heard in never:
        assert heard == sorted(heard, key=lambda entry: entry[0])
        assert len({key for _, key in heard}) == len(heard)


def test_deadlines_of_one_key_on_two_hosts_are_apart() -> None:
    deadlines: Deadlines[str] = Deadlines()
    deadlines.add("h1", 10, "a")
    deadlines.add("h2", 10, "a")
    assert list(deadlines.expired("h2", 11)) == [(10, "a")]
    assert list(deadlines.expired("h1", 11)) == [(10, "a")]


def test_a_dedup_groups_events_come_back_as_added() -> None:
    first = alert(rule("medium"), 0, serial=1)
    group = Group(first, deadline_ms=1000, last_ms=0)
    events = [alert(rule("medium"), t, serial=t, command=f"cmd {t}").events[0] for t in range(25)]
    for event in events:
        group.add_events([event])
    assert group.unpacked() == events[:20]  # MAX_EVENTS kept
    assert len(group.events[1]) < len(group.events[0])  # compressed against the first


def test_a_dedup_groups_events_hold_about_their_size() -> None:
    """Each packed event is held in a buffer of its size, not of its compression bound (what
    zstandard's `compress` returns: ten times the size, for every event of every window)."""
    group = Group(alert(rule("medium"), 0, serial=1), deadline_ms=1000, last_ms=0)
    argv = ["/usr/bin/python3", "-c", "x" * 2000]  # an event of a few KB, as real ones are
    events = [
        {"host": "h1", "serial": t, "@timestamp": str(t), "records": [{"argv": [*argv, str(t)]}]}
        for t in range(20)
    ]
    Group(alert(rule("medium"), 0, serial=2), 1000, 0).add_events(events[:2])  # first uses
    tracemalloc.start()  # what the adding allocates and keeps: compiled, no frame of dedup's
    try:
        before = tracemalloc.get_traced_memory()[0]
        group.add_events(events)
        traced = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    packed = sum(sys.getsizeof(event) for event in group.events)
    assert packed <= traced < 2 * packed, (traced, packed)


two_hosts = st.lists(
    st.tuples(
        st.sampled_from(["add", "expire"]), st.sampled_from(["h1", "h2"]), st.integers(0, 60)
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(two_hosts)
def test_a_shared_earliest_is_never_later_than_a_deadline_of_its_host(plan) -> None:
    """The triage stage looks at `earliest` alone for every event: with two owners adding to
    it and the stage raising it to their heaps' tops after each expiry, a host with a deadline
    always has a value at or below it (else a window or incident would close late)."""
    earliest: dict[str | None, int] = {}
    owners: list[Deadlines[int]] = [Deadlines(earliest=earliest), Deadlines(earliest=earliest)]
    live: dict[tuple[int, str | None, int], int] = {}  # (owner, host, key) -> deadline
    for step, (what, host, number) in enumerate(plan):
        if what == "add":
            owner = step % 2
            owners[owner].add(host, number, step % 5)
            live[owner, host, step % 5] = number
        else:
            for index, owner_deadlines in enumerate(owners):
                for deadline, key in owner_deadlines.expired(host, number):
                    assert live.pop((index, host, key)) == deadline
            tops = [top for top in (o.top(host) for o in owners) if top is not None]
            if tops:
                earliest[host] = min(tops)
            else:
                earliest.pop(host, None)
        for (_, where, _), deadline in live.items():
            assert earliest[where] <= deadline
