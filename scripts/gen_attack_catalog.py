#!/usr/bin/env python3
"""Build the offline ATT&CK catalog (mappings/attack/) from MITRE's STIX 2.1 bundles.

    .venv/bin/python scripts/gen_attack_catalog.py              # rewrites mappings/attack/
    .venv/bin/python scripts/gen_attack_catalog.py --out DIR    # writes elsewhere

Inputs, all under ../shared/ (see ../shared/attack/SOURCE.txt):
  * the current Enterprise bundle (v19.1): techniques, tactics in matrix order, revoked-by links,
    and the auditd log sources that MITRE's analytics name per technique;
  * the previous bundle (v18.1): the tactic short names and per-technique tactics that most
    published Sigma rules were written against;
  * MITRE's licence texts, copied beside the catalog, whose copyright notices go into its header;
  * the Linux audit project's record-type dictionary, to tell record types in MITRE's free-text
    channel descriptions apart from other words.
Same inputs, same bytes: keys are sorted, lists are in a defined order, nothing depends on time.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import re
import shutil
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ATTACK_DIR = SHARED / "attack"
DEFAULT_BUNDLE = ATTACK_DIR / "enterprise-attack-19.1.json.gz"
DEFAULT_LEGACY = ATTACK_DIR / "enterprise-attack-18.1.json.gz"
DEFAULT_LICENSE = ATTACK_DIR / "LICENSE-v19.txt"
DEFAULT_LEGACY_LICENSE = ATTACK_DIR / "LICENSE.txt"
DEFAULT_RECORD_TYPES = (
    SHARED / "audit-specs/linux-audit__audit-documentation/specs/messages/message-dictionary.csv"
)
DEFAULT_OUT = REPO / "mappings" / "attack"
FORMAT_VERSION = 1
KILL_CHAIN = "mitre-attack"
AUDITD_PLATFORMS = frozenset({"Linux", "Containers"})
# Where each known bundle file (by sha256 of the .gz) came from; see ../shared/attack/SOURCE.txt.
KNOWN_SOURCES = {
    "3ce80e3fb985499a69c69f02cf83df78a69d3e27dc5072421a394c4f80680422": (
        "github.com/mitre/cti commit 68d2992ea01249fc72e966f569a0d0b663d98581 (ATT&CK v19.1 "
        "Enterprise, 2026-05-12): per-object files reassembled into a STIX 2.1 bundle"
    ),
    "b8001f11ce1d2548d6f9b0beb3843a68753ec650970443db9afebc3a72b0842b": (
        "github.com/mitre/cti commit 421deacb77191b38bdd1bf63268954e93da91365 (ATT&CK v18.1 "
        "Enterprise, 2025-11-13): per-object files reassembled into a STIX 2.1 bundle"
    ),
}
# x86_64 system call names (linux-libc-dev 6.1, asm/unistd_64.h): a word of MITRE's channel text
# counts as a syscall only if it is one of these.
SYSCALL_NAMES = """
    _sysctl accept accept4 access acct add_key adjtimex afs_syscall alarm arch_prctl bind
    bpf brk capget capset chdir chmod chown chroot clock_adjtime clock_getres clock_gettime
    clock_nanosleep clock_settime clone clone3 close close_range connect copy_file_range
    creat create_module delete_module dup dup2 dup3 epoll_create epoll_create1 epoll_ctl
    epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2
    execve execveat exit exit_group faccessat faccessat2 fadvise64 fallocate fanotify_init
    fanotify_mark fchdir fchmod fchmodat fchown fchownat fcntl fdatasync fgetxattr
    finit_module flistxattr flock fork fremovexattr fsconfig fsetxattr fsmount fsopen
    fspick fstat fstatfs fsync ftruncate futex futex_waitv futimesat get_kernel_syms
    get_mempolicy get_robust_list get_thread_area getcpu getcwd getdents getdents64 getegid
    geteuid getgid getgroups getitimer getpeername getpgid getpgrp getpid getpmsg getppid
    getpriority getrandom getresgid getresuid getrlimit getrusage getsid getsockname
    getsockopt gettid gettimeofday getuid getxattr init_module inotify_add_watch
    inotify_init inotify_init1 inotify_rm_watch io_cancel io_destroy io_getevents
    io_pgetevents io_setup io_submit io_uring_enter io_uring_register io_uring_setup ioctl
    ioperm iopl ioprio_get ioprio_set kcmp kexec_file_load kexec_load keyctl kill
    landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lgetxattr link
    linkat listen listxattr llistxattr lookup_dcookie lremovexattr lseek lsetxattr lstat
    madvise mbind membarrier memfd_create memfd_secret migrate_pages mincore mkdir mkdirat
    mknod mknodat mlock mlock2 mlockall mmap modify_ldt mount mount_setattr move_mount
    move_pages mprotect mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend
    mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
    name_to_handle_at nanosleep newfstatat nfsservctl open open_by_handle_at open_tree
    openat openat2 pause perf_event_open personality pidfd_getfd pidfd_open
    pidfd_send_signal pipe pipe2 pivot_root pkey_alloc pkey_free pkey_mprotect poll ppoll
    prctl pread64 preadv preadv2 prlimit64 process_madvise process_mrelease
    process_vm_readv process_vm_writev pselect6 ptrace putpmsg pwrite64 pwritev pwritev2
    query_module quotactl quotactl_fd read readahead readlink readlinkat readv reboot
    recvfrom recvmmsg recvmsg remap_file_pages removexattr rename renameat renameat2
    request_key restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask
    rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo
    sched_get_priority_max sched_get_priority_min sched_getaffinity sched_getattr
    sched_getparam sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr
    sched_setparam sched_setscheduler sched_yield seccomp security select semctl semget
    semop semtimedop sendfile sendmmsg sendmsg sendto set_mempolicy set_mempolicy_home_node
    set_robust_list set_thread_area set_tid_address setdomainname setfsgid setfsuid setgid
    setgroups sethostname setitimer setns setpgid setpriority setregid setresgid setresuid
    setreuid setrlimit setsid setsockopt settimeofday setuid setxattr shmat shmctl shmdt
    shmget shutdown sigaltstack signalfd signalfd4 socket socketpair splice stat statfs
    statx swapoff swapon symlink symlinkat sync sync_file_range syncfs sysfs sysinfo syslog
    tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_settime
    timerfd_create timerfd_gettime timerfd_settime times tkill truncate tuxcall umask
    umount2 uname unlink unlinkat unshare uselib userfaultfd ustat utime utimensat utimes
    vfork vhangup vmsplice vserver wait4 waitid write writev
"""
SYSCALLS = frozenset(SYSCALL_NAMES.split())
DEPRECATION_NOTE = re.compile(r"\*\*This technique has been deprecated(.*?)\*\*", re.S)
TECHNIQUE_LINK = re.compile(r"attack\.mitre\.org/techniques/(T\d{4})(?:/(\d{3}))?")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
PATH_LIKE = re.compile(r"(?<![\w/])[/~.$*][^\s,;|()]*")
NAME_LIST = re.compile(
    r"\b[a-z_][a-z0-9_]*\b(?:(?:\s*[,/|]\s*(?:(?:or|and)\s+)?|\s+(?:or|and)\s+)\b[a-z_][a-z0-9_]*\b)*"
)
LOWER_WORD = re.compile(r"[a-z_][a-z0-9_]*")
UPPER_WORD = re.compile(r"\b[A-Z][A-Z0-9_]+\b")
LIST_LEAD_IN = ("(", ":", ",", "SYSCALL")
LIST_FOLLOWERS = frozenset(
    {"syscall", "syscalls", "system", "call", "calls", "on", "to", "of", "with", "for"}
    | {"attach", "activity", "access", "path"}
)

Obj = dict[str, Any]


class GenerationError(Exception):
    """The bundle does not hold what the catalog needs."""


# -- STIX bundle access -------------------------------------------------------------------------


def attack_reference(obj: Obj) -> Obj:
    for ref in obj.get("external_references", ()):
        if ref.get("source_name") == KILL_CHAIN and ref.get("external_id"):
            return dict(ref)
    raise GenerationError(f"{obj['id']}: no mitre-attack external reference")


def attack_id(obj: Obj) -> str:
    return str(attack_reference(obj)["external_id"])


def is_live(obj: Obj) -> bool:
    return not obj.get("revoked", False) and not obj.get("x_mitre_deprecated", False)


def status_of(obj: Obj) -> str:
    if obj.get("revoked", False):
        return "revoked"
    return "deprecated" if obj.get("x_mitre_deprecated", False) else "active"


@dataclass
class Bundle:
    path: Path
    sha256: str
    bundle_id: str
    objects: list[Obj]
    by_id: dict[str, Obj]

    @classmethod
    def read(cls, path: Path) -> Bundle:
        raw = path.read_bytes()
        data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        objects = list(data["objects"])
        by_id = {obj["id"]: obj for obj in objects}
        return cls(path, hashlib.sha256(raw).hexdigest(), data["id"], objects, by_id)

    def of_type(self, stix_type: str) -> list[Obj]:
        return [obj for obj in self.objects if obj["type"] == stix_type]

    def one(self, stix_type: str) -> Obj:
        found = self.of_type(stix_type)
        if len(found) != 1:
            raise GenerationError(f"{self.path}: expected one {stix_type}, found {len(found)}")
        return found[0]

    def relations(self, relationship_type: str) -> Iterator[tuple[Obj, Obj]]:
        for rel in self.of_type("relationship"):
            if rel["relationship_type"] == relationship_type and is_live(rel):
                yield self.by_id[rel["source_ref"]], self.by_id[rel["target_ref"]]

    def matrix_tactics(self) -> list[Obj]:
        return [self.by_id[ref] for ref in self.one("x-mitre-matrix")["tactic_refs"]]

    def phase_map(self) -> dict[str, str]:
        """Tactic short name (kill-chain phase) -> tactic id."""
        return {t["x_mitre_shortname"]: attack_id(t) for t in self.matrix_tactics()}

    def header(self, source: str | None) -> Obj:
        collection = self.one("x-mitre-collection")
        source = source or KNOWN_SOURCES.get(self.sha256)
        if source is None:
            raise GenerationError(
                f"{self.path}: unknown bundle file, say where it is from (--source, "
                "--legacy-source)"
            )
        return {
            "bundle": {"file": self.path.name, "id": self.bundle_id, "sha256": self.sha256},
            "domain": attack_id(self.one("x-mitre-matrix")),
            "modified": collection["modified"],
            "source": source,
            "spec_version": collection["x_mitre_attack_spec_version"],
            "version": collection["x_mitre_version"],
        }


# -- tactics and techniques ---------------------------------------------------------------------


def build_tactics(bundle: Bundle) -> list[Obj]:
    return [
        {
            "id": attack_id(t),
            "name": t["name"],
            "short_name": t["x_mitre_shortname"],
            "url": attack_reference(t)["url"],
        }
        for t in bundle.matrix_tactics()
    ]


def tactics_of(obj: Obj, phases: dict[str, str], order: list[str]) -> list[str]:
    names = {
        p["phase_name"] for p in obj["kill_chain_phases"] if p["kill_chain_name"] == KILL_CHAIN
    }
    unknown = names - phases.keys()
    if unknown:
        raise GenerationError(f"{attack_id(obj)}: unknown tactics {sorted(unknown)}")
    return sorted({phases[name] for name in names}, key=order.index)


def technique_entry(obj: Obj, phases: dict[str, str], order: list[str]) -> Obj:
    tid = attack_id(obj)
    if obj.get("x_mitre_is_subtechnique", False) != ("." in tid):
        raise GenerationError(f"{tid}: x_mitre_is_subtechnique disagrees with the id")
    entry: Obj = {
        "name": obj["name"],
        "platforms": sorted(obj.get("x_mitre_platforms", [])),
        "status": status_of(obj),
        "tactics": tactics_of(obj, phases, order),
        "url": attack_reference(obj)["url"],
    }
    if "." in tid:
        entry["parent"] = tid.split(".")[0]
    return entry


def build_techniques(bundle: Bundle, order: list[str]) -> dict[str, Obj]:
    phases = bundle.phase_map()
    techniques: dict[str, Obj] = {}
    for obj in bundle.of_type("attack-pattern"):
        tid = attack_id(obj)
        if tid in techniques:
            raise GenerationError(f"{tid}: two attack-patterns with this id")
        techniques[tid] = technique_entry(obj, phases, order)
    check_parents(bundle, techniques)
    return techniques


def check_parents(bundle: Bundle, techniques: dict[str, Obj]) -> None:
    for sub, parent in bundle.relations("subtechnique-of"):
        if techniques[attack_id(sub)].get("parent") != attack_id(parent):
            raise GenerationError(f"{attack_id(sub)}: subtechnique-of {attack_id(parent)}")


def link_replacements(bundle: Bundle, techniques: dict[str, Obj]) -> None:
    """revoked: the direct revoked-by target and the active technique at the end of the chain;
    deprecated: the techniques MITRE's deprecation note links to (resolved the same way)."""
    direct = {
        attack_id(old): attack_id(new)
        for old, new in bundle.relations("revoked-by")
        if old["type"] == "attack-pattern"
    }
    for obj in bundle.of_type("attack-pattern"):
        tid, entry = attack_id(obj), techniques[attack_id(obj)]
        if entry["status"] == "revoked":
            entry["revoked_by"] = direct[tid]
            entry["replaced_by"] = [final_replacement(tid, direct, techniques)]
        elif entry["status"] == "deprecated":
            suggested = deprecation_suggestions(obj.get("description", ""))
            resolved = [final_replacement(s, direct, techniques) for s in suggested]
            if resolved:
                entry["replaced_by"] = list(dict.fromkeys(resolved))


def final_replacement(tid: str, direct: dict[str, str], techniques: dict[str, Obj]) -> str:
    chain = [tid]
    while techniques[chain[-1]]["status"] == "revoked":
        step = direct.get(chain[-1])
        if step is None or step in chain:
            raise GenerationError(f"revoked-by chain {' -> '.join(chain)} has no active end")
        chain.append(step)
    if techniques[chain[-1]]["status"] != "active":
        raise GenerationError(f"revoked-by chain {' -> '.join(chain)} ends deprecated")
    return chain[-1]


def deprecation_suggestions(description: str) -> list[str]:
    note = DEPRECATION_NOTE.search(description)
    if note is None:
        return []
    return [f"{t}.{s}" if s else t for t, s in TECHNIQUE_LINK.findall(note.group(1))]


def add_legacy(legacy: Bundle, techniques: dict[str, Obj], order: list[str]) -> dict[str, str]:
    """Per-technique tactics of the previous release; returns its retired tactic short names."""
    phases = legacy.phase_map()
    for obj in legacy.of_type("attack-pattern"):
        tid = attack_id(obj)
        if tid not in techniques:
            raise GenerationError(f"{tid}: in {legacy.path.name} but not in the current bundle")
        if is_live(obj):
            techniques[tid]["legacy_tactics"] = tactics_of(obj, phases, order)
    current = set(order)
    aliases = {short: tid for short, tid in phases.items() if tid in current}
    if len(aliases) != len(phases):
        raise GenerationError(f"{legacy.path.name}: a tactic id is gone from the current bundle")
    return aliases


# -- auditd channels ----------------------------------------------------------------------------


def read_record_types(path: Path) -> frozenset[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        names = [row["MACRO NAME"] for row in csv.DictReader(handle)]
    return frozenset(name.removeprefix("AUDIT_") for name in names if name.startswith("AUDIT_"))


def record_types_named(source: str, channel: str, known: frozenset[str]) -> list[str]:
    words = [source.split(":", 1)[1], *UPPER_WORD.findall(channel)]
    named = [w.removeprefix("AUDIT_") if w not in known else w for w in words]
    return list(dict.fromkeys(w for w in named if w in known))


def syscalls_named(channel: str) -> list[str]:
    """System call names that MITRE's free-text channel names as such.

    Words joined by `,`, `/`, `|`, `or`, `and` form a list; its syscall names count when at least
    half of the list are syscall names and the list stands where syscalls are named: at the start
    of the text (`open, write: ...`), in call notation (`accept()`), or after `(`, `:`, `,` or
    `SYSCALL` and followed by the end, `:`, `)` or a word like `syscalls` or `on`. Paths and
    quoted strings are skipped (`/etc/passwd`, `'...'`). MITRE's text stays in `channel`.
    """
    text = PATH_LIKE.sub(" ~ ", QUOTED.sub(" ~ ", channel))
    found: list[str] = []
    for match in NAME_LIST.finditer(text):
        words = [w for w in LOWER_WORD.findall(match.group()) if w not in ("or", "and")]
        names = [w for w in words if w in SYSCALLS]
        if 2 * len(names) >= len(words) > 0 and stands_as_list(
            text[: match.start()].rstrip(), text[match.end() :]
        ):
            found.extend(names)
    return list(dict.fromkeys(found))


def stands_as_list(before: str, after: str) -> bool:
    if after.startswith("(") or not before:
        return True
    if not before.endswith(LIST_LEAD_IN):
        return False
    rest = after.strip()
    if not rest or rest[0] in ":),=":
        return True
    word = LOWER_WORD.match(rest)
    return word is not None and word.group() in LIST_FOLLOWERS


def build_auditd(bundle: Bundle, record_types: frozenset[str]) -> dict[str, list[Obj]]:
    channels: dict[str, list[Obj]] = defaultdict(list)
    for strategy, technique in bundle.relations("detects"):
        if not (is_live(strategy) and is_live(technique)):
            continue
        for ref in strategy.get("x_mitre_analytic_refs", ()):
            analytic = bundle.by_id[ref]
            if is_live(analytic) and AUDITD_PLATFORMS & set(analytic["x_mitre_platforms"]):
                found = analytic_channels(bundle, strategy, analytic, record_types)
                channels[attack_id(technique)].extend(found)
    return {tid: unique_sorted(entries) for tid, entries in channels.items()}


def analytic_channels(
    bundle: Bundle, strategy: Obj, analytic: Obj, record_types: frozenset[str]
) -> list[Obj]:
    return [
        {
            "analytic": attack_id(analytic),
            "channel": ref["channel"],
            "data_component": bundle.by_id[ref["x_mitre_data_component_ref"]]["name"],
            "record_types": record_types_named(ref["name"], ref["channel"], record_types),
            "source": ref["name"],
            "strategy": attack_id(strategy),
            "syscalls": syscalls_named(ref["channel"]),
        }
        for ref in analytic.get("x_mitre_log_source_references", ())
        if ref["name"].lower().startswith("auditd:")
    ]


def unique_sorted(entries: list[Obj]) -> list[Obj]:
    unique = {json.dumps(e, sort_keys=True): e for e in entries}
    return [unique[key] for key in sorted(unique)]


# -- the catalog --------------------------------------------------------------------------------


@dataclass
class Inputs:
    bundle: Path
    legacy: Path
    license: Path
    legacy_license: Path
    record_types: Path
    source: str | None = None
    legacy_source: str | None = None


def copyright_notice(license_path: Path) -> str:
    for line in license_path.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith('"©'):
            return line.strip().strip('"')
    raise GenerationError(f"{license_path}: no copyright notice line")


def build_catalog(inputs: Inputs) -> Obj:
    bundle, legacy = Bundle.read(inputs.bundle), Bundle.read(inputs.legacy)
    tactics = build_tactics(bundle)
    order = [t["id"] for t in tactics]
    techniques = build_techniques(bundle, order)
    link_replacements(bundle, techniques)
    aliases = add_legacy(legacy, techniques, order)
    for tid, channels in build_auditd(bundle, read_record_types(inputs.record_types)).items():
        techniques[tid]["auditd"] = channels
    current = {t["short_name"] for t in tactics}
    return {
        "attack": bundle.header(inputs.source),
        "format": FORMAT_VERSION,
        "legacy": legacy.header(inputs.legacy_source),
        "license": ["LICENSE.txt", "LICENSE-18.1.txt"],
        "notices": list(
            dict.fromkeys(copyright_notice(p) for p in (inputs.license, inputs.legacy_license))
        ),
        "tactic_aliases": {k: v for k, v in sorted(aliases.items()) if k not in current},
        "tactics": tactics,
        "techniques": techniques,
    }


def render(catalog: Obj) -> bytes:
    return (json.dumps(catalog, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def catalog_name(catalog: Obj) -> str:
    return f"{catalog['attack']['domain']}-{catalog['attack']['version']}.json"


def summary(catalog: Obj) -> str:
    techniques = catalog["techniques"].values()
    active = [t for t in techniques if t["status"] == "active"]
    subs = sum(1 for t in active if "parent" in t)
    counts = {s: sum(1 for t in techniques if t["status"] == s) for s in ("revoked", "deprecated")}
    auditd = [t for t in active if "Linux" in t["platforms"] and t.get("auditd")]
    return (
        f"ATT&CK {catalog['attack']['version']}: {len(catalog['tactics'])} tactics, "
        f"{len(active)} active techniques ({len(active) - subs} techniques + {subs} "
        f"sub-techniques), {counts['revoked']} revoked, {counts['deprecated']} deprecated; "
        f"{len(auditd)} Linux techniques with auditd channels "
        f"({sum(len(t['auditd']) for t in auditd)} channels)"
    )


def write(catalog: Obj, inputs: Inputs, out: Path) -> Path:
    from detect.attack.catalog import Catalog  # the loader must accept what we write

    Catalog.from_dict(json.loads(render(catalog)), source=catalog_name(catalog))
    out.mkdir(parents=True, exist_ok=True)
    target = out / catalog_name(catalog)
    target.write_bytes(render(catalog))
    shutil.copyfile(inputs.license, out / "LICENSE.txt")
    shutil.copyfile(inputs.legacy_license, out / "LICENSE-18.1.txt")
    return target


def parse_args(argv: list[str] | None) -> tuple[Inputs, Path]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=DEFAULT_BUNDLE)
    parser.add_argument("--legacy-bundle", type=Path, default=DEFAULT_LEGACY)
    parser.add_argument("--license", type=Path, default=DEFAULT_LICENSE)
    parser.add_argument("--legacy-license", type=Path, default=DEFAULT_LEGACY_LICENSE)
    parser.add_argument("--record-types", type=Path, default=DEFAULT_RECORD_TYPES)
    parser.add_argument("--source", help="provenance of --bundle when it is not a known file")
    parser.add_argument("--legacy-source", help="provenance of --legacy-bundle, likewise")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    inputs = Inputs(
        args.bundle,
        args.legacy_bundle,
        args.license,
        args.legacy_license,
        args.record_types,
        args.source,
        args.legacy_source,
    )
    return inputs, args.out


def main(argv: list[str] | None = None) -> int:
    inputs, out = parse_args(argv)
    try:
        catalog = build_catalog(inputs)
        target = write(catalog, inputs, out)
    except KeyError as exc:
        print(
            f"gen_attack_catalog: the bundle lacks a key the catalog needs: {exc}", file=sys.stderr
        )
        return 1
    except (GenerationError, OSError, ValueError) as exc:
        print(f"gen_attack_catalog: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}: {summary(catalog)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
