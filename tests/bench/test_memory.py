"""The compact forms that keep `detect scan`'s memory flat (issue 20): the keys of completed
events that reassembly remembers, as one int each, stay exact."""

from __future__ import annotations

import itertools

from detect.auditd.numbers import U32_MAX
from detect.auditd.reassemble import Reassembler, recent_key


def test_recent_keys_tell_every_key_apart() -> None:
    stamps = ["1.5", "1.50", "15.0", "0.15", "1.05", "99999999999.999999999", "0.0", "10.5"]
    serials = [0, 1, 10, U32_MAX - 1, U32_MAX]
    keys = list(itertools.product(stamps, serials))
    assert len({recent_key(key) for key in keys}) == len(keys)


def test_a_late_record_is_still_recognised() -> None:
    events = []
    machine = Reassembler(events.append, horizon_ms=1000)
    syscall = "type=SYSCALL msg=audit(100.250:7): arch=c000003e syscall=59 success=yes\n"
    machine.push(syscall, "a.log", 1)
    machine.push("type=SYSCALL msg=audit(105.000:8): arch=c000003e syscall=2\n", "a.log", 2)
    machine.push("type=SYSCALL msg=audit(105.100:9): arch=c000003e syscall=2\n", "a.log", 3)
    assert [event.serial for event in events] == [7]  # expired by audit time
    machine.push('type=CWD msg=audit(100.250:7): cwd="/"\n', "a.log", 4)
    machine.push('type=CWD msg=audit(100.25:7): cwd="/"\n', "a.log", 5)  # another stamp
    machine.flush()
    late = [event for event in events if event.serial == 7]
    assert [event.completion for event in late] == ["expired", "late", "flushed"]
    assert machine.stats.late_records == 1
