"""What long-lived state keeps packed (detect/core/packing.py): objects read back exactly,
alone or against a preset, in buffers of their own size."""

from __future__ import annotations

import pickle
import sys
import tracemalloc

from detect.core import packing
from detect.core.packing import pack, pickled, unpack, unpack_against

LINES = [
    'node=web1 type=EXECVE msg=audit(1700000000.123:42): argc=2 a0="cat" a1="/etc/shadow"\n',
    'node=web1 type=PATH msg=audit(1700000000.123:42): item=0 name="/tmp/\u00e9t\u00e9" \n',
    "node=web1 type=USER_CMD msg=audit(1700000000.123:42): cmd=\udcff\udcfe\n",  # undecodable
]


def test_packed_lines_read_back_exactly_in_a_buffer_of_their_size() -> None:
    events = [
        [f"{line.rstrip()} n={n}\n" for line in LINES] + ["x" * 2000 + "\n"] for n in range(20)
    ]
    tracemalloc.start()
    try:
        packed = [pack(lines) for lines in events]
        held = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(True, packing.__file__)]
        )
        traced = sum(stat.size for stat in held.statistics("filename"))
    finally:
        tracemalloc.stop()
    assert [unpack(item) for item in packed] == events
    assert all(len(item) < 400 for item in packed)  # of ~2.3 KB each
    # not the buffers zstandard allocated for the inputs' compression bound
    size = sum(sys.getsizeof(item) for item in packed)
    assert size <= traced < 2 * size, (traced, size)


def test_against_a_preset_like_objects_pack_smaller_and_read_back() -> None:
    events = [{"serial": n, "records": [{"line": line} for line in LINES]} for n in range(20)]
    first = pack(events[0])
    preset = pickled(first)
    assert pickle.loads(preset) == events[0]
    others = [pack(event, preset) for event in events[1:]]
    assert unpack_against(others, preset) == events[1:]
    assert max(map(len, others)) < len(first) / 3
