"""Would a rule set make the kernel emit an event? The kernel's filters, replayed on the event.

`Simulator(rules).check(event)` answers with a `Verdict`: emitted or not, the rule that decided
(and its keys), and why. What it replays (kernel/auditsc.c, kernel/auditfilter.c):

- Rules are loaded in file order: `-a` appends, `-A` prepends, `-d`/`-W` delete, `-D` clears.
  Each exit rule gets a priority as it is loaded (auditfilter.c `audit_add_rule`: an appended
  rule ranks below every rule before it, a prepended one above them all).
- An event with a SYSCALL record, in two phases (auditsc.c `__audit_syscall_exit`):
  1. the exit list is walked in order and the first rule whose syscall mask holds the event's
     syscall number (the mask is built for the rule's `arch=`, or for the loading machine
     without one, and applies to every arch then) and whose fields all hold is taken;
  2. then the inode rules: a rule with `path=` (a watch of a file, `-F path=`) is not on the
     exit list but hashed by the inode it watches. The event's names are taken one after the
     other (the PATH records, in order); for each, the rules watching that file are tried in
     load order, and only those ranked above the rule phase 1 took (a rule's fields there are
     read from that one name: `obj_uid`, `inode`, ...). The first name with such a rule stops
     the search: that rule decides, else phase 1's. So the rule loaded first wins, except
     that an earlier name's rule beats a later name's (tested on the kernel: a script watched
     with `-p x` loaded after a watch of its interpreter gives the script's key).
  `always` emits, `never` suppresses. Without a match the event is still emitted when it
  carries a record the kernel logs on its own (CONFIG_CHANGE, LOGIN, ...: logging it during a
  syscall marks the syscall for recording) and some task or exit rule is loaded. A matching
  `never` rule of the task list means the process has no audit context at all, an `always`
  one that every syscall of the process is recorded, whatever the exit rules say.
- A user-space message (types 1100-1199, 2100-2999) goes through the user list: the first rule
  whose fields hold decides; without one it is emitted. Other records without a syscall are
  emitted.
- Then the exclude list: a record type any exclude rule matches is dropped; an event that had
  such a record cannot have come from this rule set.
- Watches are `path=`/`dir=` + `perm=` exit rules: `dir=` (a tree, on the exit list) when the
  path is a directory as the rules are loaded, else `path=` (an inode rule). The simulator
  asks its `is_dir` probe; without one every watch is taken as `dir=` (the same files match,
  only the order of phase 2 is lost). `path=` holds when a PATH record names that
  path (names resolved as the kernel looked them up: `detect.auditgen.paths`), `dir=` when one
  names it or a path under it; `perm=` follows the kernel's syscall classes (read, write,
  attribute change, exec) and, for open/openat/openat2, the access mode of the flags.

A field the event cannot answer (`pers`, `fstype`, SELinux labels on a machine without them, a
user name with no number) makes its rule not hold, and the verdict says so.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.record import Record
from detect.auditgen.model import (
    AuditRule,
    AuditRuleFile,
    AuditRuleMeaning,
    Control,
    Item,
    SyscallRule,
    Watch,
)
from detect.auditgen.paths import PathMemory
from detect.auditgen.values import audit_rule_table
from detect.kernel import tables

USER_MESSAGES = ((1100, 1199), (2100, 2999))  # AUDIT_FIRST/LAST_USER_MSG, ..._MSG2
# Records the kernel writes only as part of a recorded syscall (audit_log_exit's auxiliaries).
SYSCALL_RECORDS = frozenset(
    [
        "SYSCALL",
        "PATH",
        "CWD",
        "EXECVE",
        "SOCKADDR",
        "SOCKETCALL",
        "PROCTITLE",
        "IPC",
        "IPC_SET_PERM",
        "MQ_OPEN",
        "MQ_SENDRECV",
        "MQ_NOTIFY",
        "MQ_GETSETATTR",
        "FD_PAIR",
        "CAPSET",
        "MMAP",
        "OBJ_PID",
        "BPRM_FCAPS",
        "KERN_MODULE",
        "FANOTIFY",
        "OPENAT2",
        "EOE",
    ]
)
# Syscall classes of perm= (include/asm-generic/audit_{dir_write,write,read,change_attr}.h).
DIR_WRITE = frozenset(
    [
        "rename",
        "mkdir",
        "rmdir",
        "creat",
        "link",
        "unlink",
        "symlink",
        "mknod",
        "mkdirat",
        "mknodat",
        "unlinkat",
        "renameat",
        "linkat",
        "symlinkat",
        "renameat2",
    ]
)
WRITE_CLASS = DIR_WRITE | frozenset(
    [
        "acct",
        "swapon",
        "quotactl",
        "quotactl_fd",
        "truncate",
        "ftruncate",
        "truncate64",
        "ftruncate64",
        "bind",
        "fallocate",
    ]
)
READ_CLASS = frozenset(
    [
        "readlink",
        "quotactl",
        "listxattr",
        "llistxattr",
        "flistxattr",
        "getxattr",
        "lgetxattr",
        "fgetxattr",
        "readlinkat",
    ]
)
ATTR_CLASS = frozenset(
    [
        "chmod",
        "fchmod",
        "chown",
        "lchown",
        "fchown",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "fchownat",
        "fchmodat",
        "fchmodat2",
        "chown32",
        "fchown32",
        "lchown32",
        "link",
        "linkat",
    ]
)
EXEC_CLASS = frozenset(("execve", "execveat"))
OPEN_FLAGS_ARG = {"open": "a1", "openat": "a2"}  # where open's flags are
ACCESS_MODE_PERMS = (4, 2, 6, 6)  # O_RDONLY -> read, O_WRONLY -> write, O_RDWR -> both
SYS_BIND = 2  # socketcall's call number for bind
S_IFMT = 0o170000
CONTEXT_LISTS = ("exit", "task", "io_uring")  # rules that make the kernel keep audit context
PROCESS_FIELDS = {
    "pid": "pid",
    "ppid": "ppid",
    "uid": "uid",
    "euid": "euid",
    "suid": "suid",
    "fsuid": "fsuid",
    "gid": "gid",
    "egid": "egid",
    "sgid": "sgid",
    "fsgid": "fsgid",
    "auid": "auid",
    "sessionid": "ses",
}
OBJECT_FIELDS = {"obj_uid": "ouid", "obj_gid": "ogid", "inode": "inode"}
SUBJECT_PARTS = {"subj_user": 0, "subj_role": 1, "subj_type": 2, "subj_sen": 3, "subj_clr": 3}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the rule set makes the kernel emit the event, and what decided it."""

    emitted: bool
    reason: str
    rule: AuditRule | None = None
    keys: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()


class Unknown(Exception):
    """A field the event cannot answer."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """One rule in the kernel's lists: the rule as written, its meaning, its priority."""

    rule: AuditRule
    meaning: AuditRuleMeaning
    prio: int = 0

    @property
    def watched(self) -> str | None:
        """The file an inode rule watches (`path=` on the exit list), else None."""
        if self.meaning.list_name != "exit":
            return None
        return next((str(v) for f, op, v in self.meaning.fields if f == "path" and op == "="), None)

    @property
    def inode(self) -> bool:
        """Whether the kernel hashes the rule by inode instead of walking it on the exit list
        (any `path=` field: `path!=` too, which then only meets its own file's names)."""
        return self.meaning.list_name == "exit" and any(
            f == "path" for f, _, _ in self.meaning.fields
        )


@dataclass
class Lists:
    """The kernel's rule lists after loading a file, in evaluation order, with the exit rules'
    priorities (appended: below all before; prepended: above all)."""

    by_list: dict[str, list[Loaded]] = field(default_factory=dict)
    is_dir: Callable[[str], bool] | None = None
    low: int = 0
    high: int = 0

    def rules(self, name: str) -> list[Loaded]:
        return self.by_list.get(name, [])

    def load(self, item: Item, machine: str) -> None:
        if isinstance(item, Control) and item.option == "-D":
            self.by_list.clear()
        if not isinstance(item, (SyscallRule, Watch)):
            return
        meaning = self.meaning(item, machine)
        rules = self.by_list.setdefault(meaning.list_name, [])
        command = item.command if isinstance(item, SyscallRule) else item.to_rule().command
        if command == "-d":
            rules[:] = [old for old in rules if old.meaning != meaning]
        elif command == "-A":
            self.high += 1
            rules.insert(0, Loaded(item, meaning, self.high))
        else:
            self.low -= 1
            rules.append(Loaded(item, meaning, self.low))

    def meaning(self, item: SyscallRule | Watch, machine: str) -> AuditRuleMeaning:
        """A watch is `dir=` or `path=` as its path is a directory or not when it is loaded
        (without a probe: `dir=`, whose matches are the same for a file)."""
        if isinstance(item, SyscallRule):
            return item.meaning(machine)
        is_dir = True if self.is_dir is None else self.is_dir(item.path.rstrip("/") or "/")
        return item.meaning(machine, is_dir)


class Simulator:
    """The kernel's filters for one rule set; `check(event)` for each event."""

    def __init__(
        self,
        rules: AuditRuleFile | Iterable[Item],
        machine: str = "x86_64",
        ids: Callable[[str], int | None] | None = None,
        is_dir: Callable[[str], bool] | None = None,
    ) -> None:
        self.machine = machine
        self.ids = ids or (lambda _name: None)  # user/group name -> number, for uid=root
        self.lists = Lists(is_dir=is_dir)  # is_dir: which watched paths are directories
        self.memory = PathMemory()  # where inodes and descriptors are, from the log
        self.names: list[str | None] = []  # each PATH record's path, of the event being checked
        for item in rules.items if isinstance(rules, AuditRuleFile) else rules:
            self.lists.load(item, machine)

    def check(self, event: AuditEvent) -> Verdict:
        """The verdict on one event; call it on events in log order (see `learn`)."""
        self.names = self.memory.learn_names(event)
        verdict = self._decide(event)
        if not verdict.emitted:
            return verdict
        return self._exclude(event, verdict)

    def learn(self, event: AuditEvent) -> list[str]:
        """The resolved paths of the event's PATH records (see `detect.auditgen.paths`)."""
        return self.memory.learn(event)

    def _decide(self, event: AuditEvent) -> Verdict:
        syscall = event.first("SYSCALL")
        if syscall is not None:
            return self._syscall_event(Facts(event, syscall, self))
        first = event.records[0]
        number = tables.record_type_number(first.type) or 0
        if any(low <= number <= high for low, high in USER_MESSAGES):
            return self._first_match("user", Facts(event, first, self), True)
        return Verdict(True, f"{first.type} is logged by the kernel regardless of rules")

    def _syscall_event(self, facts: Facts) -> Verdict:
        task = self._first_match("task", facts, True)
        if not task.emitted:
            return Verdict(False, f"task list: {task.reason}", task.rule, task.keys)
        if task.rule is not None:
            why = "task rule always matched: every syscall of the process is recorded"
            return Verdict(True, why, task.rule, task.keys)
        walked = [loaded for loaded in self.lists.rules("exit") if not loaded.inode]
        found, notes = first_holding(walked, facts)
        named = self._inode_rule(facts, None if found is None else found.prio, notes)
        if named is not None:
            return decided(named, f"inode rule {named.meaning.action} matched")
        if found is not None:
            return decided(found, f"exit rule {found.meaning.action} matched")
        own = [t for t in facts.event.types if t not in SYSCALL_RECORDS]
        if own and any(self.lists.rules(name) for name in CONTEXT_LISTS):
            return Verdict(True, f"{own[0]} is logged on its own and marks the syscall")
        return Verdict(False, no_match("exit", notes))

    def _inode_rule(self, facts: Facts, floor: int | None, notes: list[str]) -> Loaded | None:
        """Phase 2: the first name with an inode rule ranked above `floor` that holds for it."""
        ranked = [
            loaded
            for loaded in self.lists.rules("exit")
            if loaded.watched is not None and (floor is None or loaded.prio > floor)
        ]
        for index, path in enumerate(self.names if ranked else ()):
            here = [loaded for loaded in ranked if loaded.watched == path]
            found, missed = first_holding(here, Facts(facts.event, facts.record, self, index))
            notes += missed
            if found is not None:
                return found
        return None

    def _first_match(self, name: str, facts: Facts, default: bool) -> Verdict:
        found, notes = first_holding(self.lists.rules(name), facts)
        if found is None:
            return Verdict(default, no_match(name, notes))
        return decided(found, f"{name} rule {found.meaning.action} matched")

    def _exclude(self, event: AuditEvent, verdict: Verdict) -> Verdict:
        dropped = []
        for record in event.records:
            facts = Facts(event, record, self)
            for loaded in self.lists.rules("exclude"):
                try:
                    if matches(loaded.meaning, facts):
                        dropped.append(record.type)
                        break
                except Unknown:
                    continue
        if not dropped:
            return verdict
        excluded = tuple(dict.fromkeys(dropped))
        reason = f"{verdict.reason}, but the exclude list drops {', '.join(excluded)}"
        return Verdict(False, reason, verdict.rule, verdict.keys, excluded)


def first_holding(rules: Iterable[Loaded], facts: Facts) -> tuple[Loaded | None, list[str]]:
    """The first rule whose syscall and fields hold, and what could not be told on the way."""
    notes: list[str] = []
    for loaded in rules:
        try:
            if matches(loaded.meaning, facts):
                return loaded, notes
        except Unknown as unknown:
            notes.append(str(unknown))
    return None, notes


def decided(loaded: Loaded, why: str) -> Verdict:
    emitted = loaded.meaning.action == "always"
    return Verdict(emitted, why, loaded.rule, loaded.meaning.keys)


def no_match(name: str, notes: list[str]) -> str:
    return f"no {name} rule matched" + (f" ({'; '.join(sorted(set(notes)))})" if notes else "")


def why_lost(event: AuditEvent, verdict: Verdict) -> str:
    """Why the rule set loses an event, for a reader: its syscall (or first record type), the
    first file it names, and the verdict's reason."""
    name = interpret.event_syscall(event) or event.records[0].type
    named = [r.fields for r in event.all("PATH") if r.fields.get("nametype") != "PARENT"]
    target = next((f.get("name", "") for f in named if f.get("name")), "")
    return f"{name} {target}: {verdict.reason}" if target else f"{name}: {verdict.reason}"


class Facts:
    """What the filters read from an event: the deciding record, its SYSCALL, paths, CWD.
    With `name` (an index into the PATH records), the path and object fields read that one
    name, as the kernel's inode rules do."""

    def __init__(
        self, event: AuditEvent, record: Record, simulator: Simulator, name: int | None = None
    ):
        self.event = event
        self.record = record
        self.ids = simulator.ids
        self.name_index = name
        names = simulator.names if name is None else simulator.names[name : name + 1]
        self.resolved = [path for path in names if path is not None]
        syscall = event.first("SYSCALL")
        self.fields = syscall.fields if syscall is not None else record.fields
        arch_hex = self.fields.get("arch", "")
        self.arch = tables.arch_name(arch_hex) if arch_hex else None
        number = self.fields.get("syscall", "")
        self.syscall = int(number) if number.isdigit() else None
        self.name = (
            None
            if self.syscall is None or self.arch is None
            else tables.syscall_name(self.arch, self.syscall)
        )

    def number(self, name: str) -> int:
        text = self.fields.get(name) if name in self.fields else self.record.fields.get(name)
        if text is None or not text.lstrip("-").isdigit():
            raise Unknown(f"the event has no {name}")
        return int(text) & 0xFFFFFFFF if not text.startswith("-") else int(text)

    def argument(self, name: str) -> int:
        text = self.fields.get(name)
        if text is None:
            raise Unknown(f"the event has no {name}")
        return int(text, 16)

    def paths(self) -> list[Record]:
        records = self.event.all("PATH")
        index = self.name_index
        return records if index is None else records[index : index + 1]

    def path_names(self) -> list[str]:
        return self.resolved


def matches(meaning: AuditRuleMeaning, facts: Facts) -> bool:
    """Whether every part of a rule holds for the event (raises Unknown when one cannot tell)."""
    if meaning.list_name == "exit" and not syscall_in(meaning, facts):
        return False
    return all(holds(name, op, value, facts) for name, op, value in meaning.fields)


def syscall_in(meaning: AuditRuleMeaning, facts: Facts) -> bool:
    if facts.syscall is None:
        return False
    return meaning.syscalls is None or facts.syscall in meaning.syscalls


def holds(name: str, op: str, value: int | str, facts: Facts) -> bool:
    check = FIELD_CHECKS.get(name)
    if check is not None:
        return check(op, value, facts)
    if name in PROCESS_FIELDS:
        return compare(facts.number(PROCESS_FIELDS[name]), op, resolve_id(value, facts))
    if name in OBJECT_FIELDS:
        return any_path(facts, OBJECT_FIELDS[name], op, resolve_id(value, facts))
    if name in SUBJECT_PARTS:
        return subject(name, op, str(value), facts)
    raise Unknown(f"field {name} is not in the event")


def compare(left: int, op: str, right: int) -> bool:
    """The kernel's audit_comparator."""
    return COMPARATORS[op](left, right)


def resolve_id(value: int | str, facts: Facts) -> int:
    if isinstance(value, int):
        return value
    number = facts.ids(value)
    if number is None:
        raise Unknown(f"no number for the name {value}")
    return number


def equal_or_not(op: str, result: bool) -> bool:
    return not result if op == "!=" else result


def _arch(op: str, value: int | str, facts: Facts) -> bool:
    return equal_or_not(op, facts.arch == value)


def _exit(op: str, value: int | str, facts: Facts) -> bool:
    text = facts.fields.get("exit")
    if text is None:
        raise Unknown("the event has no exit")
    return compare(int(text), op, int(value))


def _success(op: str, value: int | str, facts: Facts) -> bool:
    success = facts.fields.get("success")
    if success is None:
        raise Unknown("the event has no success")
    return compare(int(success == "yes"), op, int(value))


def _argument(name: str) -> Callable[[str, int | str, Facts], bool]:
    def check(op: str, value: int | str, facts: Facts) -> bool:
        return compare(facts.argument(name), op, int(value))

    return check


def _msgtype(op: str, value: int | str, facts: Facts) -> bool:
    return compare(tables.record_type_number(facts.record.type) or 0, op, int(value))


def _exe(op: str, value: int | str, facts: Facts) -> bool:
    exe = facts.fields.get("exe")
    if exe is None:
        raise Unknown("the event has no exe")
    return equal_or_not(op, exe == value)


def _path(op: str, value: int | str, facts: Facts) -> bool:
    return equal_or_not(op, str(value) in facts.path_names())


def _dir(op: str, value: int | str, facts: Facts) -> bool:
    root = posixpath.normpath(str(value))
    under = root.rstrip("/") + "/"
    inside = any(n == root or n.startswith(under) for n in facts.path_names())
    return equal_or_not(op, inside)


def _perm(_op: str, value: int | str, facts: Facts) -> bool:
    return bool(int(value) & syscall_perms(facts))


def _filetype(op: str, value: int | str, facts: Facts) -> bool:
    modes = [r.fields.get("mode", "") for r in facts.event.all("PATH")]  # every name, always
    found = any(m and int(m, 8) & S_IFMT == value for m in modes)
    return equal_or_not(op, found)


def _compare_fields(op: str, value: int | str, facts: Facts) -> bool:
    pair = next(k for k, v in audit_rule_table().kinds["compare"].items() if v == value)
    left, right = (PROCESS_FIELDS.get(side) or OBJECT_FIELDS[side] for side in pair.split(":"))
    if right in ("ouid", "ogid"):
        return any_path(facts, right, op, facts.number(left))
    return compare(facts.number(left), op, facts.number(right))


def _saddr_fam(op: str, value: int | str, facts: Facts) -> bool:
    sockaddr = facts.event.first("SOCKADDR")
    saddr = sockaddr.fields.get("saddr", "") if sockaddr is not None else ""
    if len(saddr) < 4:
        raise Unknown("the event has no socket address")
    return compare(int(saddr[2:4] + saddr[0:2], 16), op, int(value))


def _key(_op: str, _value: int | str, _facts: Facts) -> bool:
    return True


def any_path(facts: Facts, field_name: str, op: str, value: int) -> bool:
    """Whether some PATH record's field compares true (how the kernel reads object fields)."""
    texts = [r.fields.get(field_name) for r in facts.paths()]
    numbers = [int(t) for t in texts if t is not None and t.isdigit()]
    return any(compare(n, op, value) for n in numbers)


def subject(name: str, op: str, value: str, facts: Facts) -> bool:
    parts = facts.fields.get("subj", "").split(":")
    if len(parts) < 4:
        raise Unknown(f"the event has no SELinux label for {name}")
    return equal_or_not(op, parts[SUBJECT_PARTS[name]] == value)


def syscall_perms(facts: Facts) -> int:
    """The kernel's audit_match_perm: which of x=1 w=2 r=4 a=8 the syscall does."""
    name = facts.name or ""
    if name in OPEN_FLAGS_ARG:
        return ACCESS_MODE_PERMS[facts.argument(OPEN_FLAGS_ARG[name]) & 3]
    if name == "openat2":
        openat2 = facts.event.first("OPENAT2")
        flags = openat2.fields.get("oflag", "0") if openat2 is not None else "0"
        return ACCESS_MODE_PERMS[int(flags, 0) & 3]
    if name == "socketcall":
        return 2 if facts.argument("a0") == SYS_BIND else 0
    classes = ((EXEC_CLASS, 1), (WRITE_CLASS, 2), (READ_CLASS, 4), (ATTR_CLASS, 8))
    return sum(bit for members, bit in classes if name in members)


COMPARATORS: dict[str, Callable[[int, int], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
    "&": lambda a, b: bool(a & b),
    "&=": lambda a, b: (a & b) == b,
}
FIELD_CHECKS: dict[str, Callable[[str, int | str, Facts], bool]] = {
    "arch": _arch,
    "exit": _exit,
    "success": _success,
    "a0": _argument("a0"),
    "a1": _argument("a1"),
    "a2": _argument("a2"),
    "a3": _argument("a3"),
    "msgtype": _msgtype,
    "exe": _exe,
    "path": _path,
    "dir": _dir,
    "perm": _perm,
    "filetype": _filetype,
    "field_compare": _compare_fields,
    "saddr_fam": _saddr_fam,
    "key": _key,
}
