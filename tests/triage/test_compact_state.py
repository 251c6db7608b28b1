"""Triage's state kept compact (issue 20, flat memory): an incident's member events packed in
chunks, deadlines added once per (key, deadline), a dedup group's events compressed against its
first. Each gives back exactly what was put in, in the same order."""

from __future__ import annotations

import pickle

from detect.triage.deadlines import Deadlines
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
    for key, deadline in (("a", 10), ("b", 10), ("a", 10), ("a", 10), ("c", 5), ("a", 20)):
        deadlines.add("h", deadline, key)
    assert len(deadlines) == 4  # the two repeats of (a, 10) were not added
    assert list(deadlines.expired("h", 11)) == [(5, "c"), (10, "a"), (10, "b")]
    deadlines.add("h", 10, "a")  # the first (a, 10) left the heap: added again
    assert list(deadlines.expired("h", 100)) == [(10, "a"), (20, "a")]
    assert not deadlines.due("h", 1000) and len(deadlines) == 0


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
