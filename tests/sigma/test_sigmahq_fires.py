"""SigmaHQ's own rules fire on real activity captured on this machine, and not on near misses.

Each case names one SigmaHQ rule (a path under `../shared/sigma`, read in place: the rules are
under the Detection Rule License, see that folder's LICENSE.Detection.Rules.md), a capture made
by `scripts/capture/capture.py --scenario-dir scripts/capture/sigma --out-dir
tests/sigma/captures NAME` (scenario and provenance beside it), the events that must alert and
the near misses (similar activity) that must not. Events are chosen by what identifies them
(argv, syscall, a PATH name, a record type), never by position, and every choice must find at
least one event. The engine runs with that one rule loaded, as `detect scan --rules RULE
--no-default-rules` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import yaml

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.auditd.reassemble import Reassembler
from detect.core.resources import ROOT
from detect.matching.engine import Engine
from detect.sigma.load import load_detections
from detect.sources.lines import iter_lines

SIGMA_ROOT = ROOT.parent / "shared" / "sigma"
CAPTURES = Path(__file__).parent / "captures"
W = "/tmp/detect-capture"  # the scenarios' work dir (CAPTURE_WORK)
AUDITD = "rules/linux/auditd"
PROC = "rules/linux/process_creation"

pytestmark = pytest.mark.skipif(
    not SIGMA_ROOT.is_dir(), reason=f"SigmaHQ rules not present at {SIGMA_ROOT}"
)


@dataclass(frozen=True)
class Pick:
    """Events chosen by what identifies them; every given criterion must hold.

    `argv`: the EXECVE argv joined by spaces, exactly. `syscall`, `exe`, `a0`, `euid`: of the
    SYSCALL record (syscall by name, a0 as logged, in hex). `path` (and `nametype`): a PATH
    record of the event. `record`: a record type the event has.
    """

    argv: str | None = None
    syscall: str | None = None
    exe: str | None = None
    a0: str | None = None
    euid: str | None = None
    path: str | None = None
    nametype: str | None = None
    record: str | None = None

    def __call__(self, event: AuditEvent) -> bool:
        return self._argv_ok(event) and self._syscall_ok(event) and self._records_ok(event)

    def _argv_ok(self, event: AuditEvent) -> bool:
        if self.argv is None:
            return True
        argv = interpret.execve_argv(event)
        return argv is not None and " ".join(argv) == self.argv

    def _syscall_ok(self, event: AuditEvent) -> bool:
        wanted = {"exe": self.exe, "a0": self.a0, "euid": self.euid}
        if self.syscall is None and not any(wanted.values()):
            return True
        record = event.first("SYSCALL")
        if record is None:
            return False
        name = interpret.record_interpreted(record).get("SYSCALL")
        if self.syscall is not None and name != self.syscall:
            return False
        return all(value is None or record.fields.get(k) == value for k, value in wanted.items())

    def _records_ok(self, event: AuditEvent) -> bool:
        if self.record is not None and event.first(self.record) is None:
            return False
        if self.path is None:
            return True
        return any(
            p.fields.get("name") == self.path
            and (self.nametype is None or p.fields.get("nametype") == self.nametype)
            for p in event.all("PATH")
        )

    def __str__(self) -> str:
        given = {k: v for k, v in vars(self).items() if v is not None}
        return ", ".join(f"{k}={v!r}" for k, v in given.items())


@dataclass(frozen=True)
class Case:
    rule: str  # relative to the sigma root
    capture: str  # tests/sigma/captures/<capture>.log
    match: tuple[Pick, ...]
    near: tuple[Pick, ...]


def argv(*commands: str) -> tuple[Pick, ...]:
    return tuple(Pick(argv=command) for command in commands)


def opened(*paths: str) -> tuple[Pick, ...]:
    return tuple(Pick(syscall="openat", path=path) for path in paths)


TARGET = f"{W}/target"
HOME = f"{W}/home"
UNIT = "/etc/systemd/system/detect-sigma-capture.service"

CASES = (
    # discovery: read-only system, user and policy discovery
    Case(
        f"{AUDITD}/syscall/lnx_auditd_susp_discovery_sysinfo_syscall.yml",
        "discovery",
        (Pick(syscall="sysinfo", exe="/usr/bin/getconf"),),
        (Pick(syscall="uname", exe="/usr/bin/uname"), *argv("getconf PAGESIZE")),
    ),
    Case(
        f"{AUDITD}/lnx_auditd_system_info_discovery.yml",
        "discovery",
        (*argv("uname -a"), *opened("/etc/issue")),
        (*argv("date", "whoami"), *opened("/etc/hostname")),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_user_discovery.yml",
        "discovery",
        argv("whoami", "id"),
        argv("date", "groups", "getconf PAGESIZE"),
    ),
    Case(
        f"{AUDITD}/lnx_auditd_password_policy_discovery.yml",
        "discovery",
        (*argv("passwd -S root"), *opened("/etc/login.defs")),
        (*argv("passwd --help"), *opened("/etc/hostname", "/etc/passwd")),
    ),
    Case(
        f"{AUDITD}/path/lnx_auditd_system_info_discovery2.yml",
        "discovery",
        opened("/etc/os-release", "/proc/version", "/etc/issue"),
        opened("/etc/hostname", "/proc/sys/kernel/hostname", "/etc/host.conf"),
    ),
    Case(
        f"{AUDITD}/path/lnx_auditd_magic_system_request_key.yml",
        "discovery",
        opened("/etc/sysctl.conf"),
        opened("/etc/host.conf", "/proc/sys/kernel/hostname"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_local_account.yml",
        "discovery",
        argv("id", "cat /etc/passwd"),
        argv("cat /etc/hostname", "date", "whoami"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_local_groups.yml",
        "discovery",
        argv("groups", "cat /etc/group"),
        argv("cat /etc/passwd", "id"),
    ),
    # capability_recon: capability, setuid-file and inode discovery
    Case(
        f"{AUDITD}/execve/lnx_auditd_capabilities_discovery.yml",
        "capability_recon",
        argv("getcap -r /"),
        argv("getcap /usr/bin/true", "timeout 3 getcap -r /"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_capa_discovery.yml",
        "capability_recon",
        argv("getcap -r /"),
        argv("getcap /usr/bin/true", "timeout 3 getcap -r /"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_find_execution.yml",
        "capability_recon",
        argv(f"find {W}/tree -perm -4000 -type f"),
        argv(f"find {W}/tree -name file"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_recon_indicators.yml",
        "capability_recon",
        argv(f"find {W}/tree -perm -4000 -type f"),
        argv(f"find {W}/tree -name file"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_inod_listing.yml",
        "capability_recon",
        argv("ls -id /"),
        argv("ls -l /", f"ls {W}/tree"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_file_and_directory_discovery.yml",
        "capability_recon",
        argv(f"ls -R {W}/tree", f"find {W}/tree -name file"),
        argv(f"ls {W}/tree", "ls -l /", "getcap /usr/bin/true"),
    ),
    # file_tamper: permissions, attributes, timestamps, capabilities of throwaway files
    Case(
        f"{AUDITD}/execve/lnx_auditd_chattr_immutable_removal.yml",
        "file_tamper",
        argv(f"chattr -i {TARGET}"),
        argv(f"chattr +i {TARGET}", f"lsattr {TARGET}"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_chattr_immutable_removal.yml",
        "file_tamper",
        argv(f"chattr -i {TARGET}"),
        argv(f"chattr +i {TARGET}", f"lsattr {TARGET}"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_susp_cmds.yml",
        "file_tamper",
        argv(f"chmod 777 {TARGET}", f"chmod u+s {TARGET}", f"cp /bin/sh {W}/crond"),
        argv(f"chmod 644 {TARGET}", f"cp /bin/true {W}/crond2"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_masquerading_crond.yml",
        "file_tamper",
        argv(f"cp /bin/sh {W}/crond"),
        argv(f"cp /bin/sh {W}/mysh", f"cp /bin/true {W}/crond2"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_change_file_time_attr.yml",
        "file_tamper",
        argv(f"touch -t 202001010000 {TARGET}"),
        argv(f"touch {TARGET}", f"stat {TARGET}"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_file_or_folder_permissions.yml",
        "file_tamper",
        argv(f"chmod 644 {TARGET}", f"chown root {TARGET}"),
        argv(f"stat {TARGET}", f"lsattr {TARGET}", f"touch {TARGET}"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_setgid_setuid.yml",
        "file_tamper",
        argv(f"sh -c chown root {TARGET}; chmod u+s {TARGET}"),
        argv(f"sh -c chown root {TARGET}; chmod 644 {TARGET}", f"chmod u+s {TARGET}"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_cap_setuid.yml",
        "file_tamper",
        argv(f"setcap cap_setuid+ep {W}/captrue"),
        argv(f"setcap cap_net_raw+ep {W}/captrue", f"setcap -r {W}/captrue"),
    ),
    # dd_padding: overwriting and padding throwaway files
    Case(
        f"{AUDITD}/execve/lnx_auditd_dd_delete_file.yml",
        "dd_padding",
        argv(f"dd if=/dev/zero of={W}/secret bs=4096 count=2 conv=notrunc status=none"),
        argv(f"dd if={W}/secret of={W}/copy status=none", "dd --version"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_dd_file_overwrite.yml",
        "dd_padding",
        argv(f"dd if=/dev/zero of={W}/secret bs=4096 count=2 conv=notrunc status=none"),
        argv(
            "dd if=/dev/zero bs=1 count=16 status=none", f"dd if={W}/secret of={W}/copy status=none"
        ),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_binary_padding.yml",
        "dd_padding",
        argv("dd if=/dev/zero bs=1 count=16 status=none", f"truncate -s +4096 {W}/padded"),
        argv(
            f"dd if=/dev/zero of={W}/secret bs=4096 count=2 conv=notrunc status=none",
            f"dd if={W}/secret of={W}/copy status=none",
            f"ls -s {W}/padded",
        ),
    ),
    # tmp_exec: programs run from /tmp and from hidden directories
    Case(
        f"{AUDITD}/execve/lnx_auditd_hidden_files_directories.yml",
        "tmp_exec",
        argv(f"mkdir {W}/.hidden", f"mkdir -p {W}/.cache {W}/usr/bin"),
        argv(f"mkdir {W}/visible"),
    ),
    Case(
        f"{AUDITD}/path/lnx_auditd_hidden_binary_execution.yml",
        "tmp_exec",
        argv(f"{W}/.hidden/run"),
        argv(f"{W}/.cache/run", f"{W}/run", "/usr/bin/true"),
    ),
    Case(
        f"{AUDITD}/syscall/lnx_auditd_susp_exe_folders.yml",
        "tmp_exec",
        argv(f"{W}/run", f"{W}/.hidden/run"),
        argv("/usr/bin/true", f"cp /bin/true {W}/run"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_execution_tmp_folder.yml",
        "tmp_exec",
        argv(f"{W}/run", f"{W}/.hidden/run"),
        argv(f"{W}/usr/bin/nextcloud", "/usr/bin/true", f"cp /bin/true {W}/run"),
    ),
    # history: reading and deleting a shell history file
    Case(
        f"{AUDITD}/execve/lnx_auditd_susp_histfile_operations.yml",
        "history",
        argv(f"cat {HOME}/.bash_history", f"tail {HOME}/.zsh_history", f"rm {HOME}/.bash_history"),
        argv(f"cat {HOME}/.bashrc", f"wc -l {HOME}/.profile", f"rm {HOME}/notes.txt"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_history_recon.yml",
        "history",
        argv(f"cat {HOME}/.bash_history", f"tail {HOME}/.zsh_history"),
        argv(f"cat {HOME}/.bashrc", f"wc -l {HOME}/.profile", f"rm {HOME}/.bash_history"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_history_delete.yml",
        "history",
        argv(f"rm {HOME}/.bash_history"),
        argv(f"rm {HOME}/notes.txt", f"cat {HOME}/.bash_history"),
    ),
    # shell_spawn: shells started through other programs, base64 decoding
    Case(
        f"{PROC}/proc_creation_lnx_susp_pipe_shell.yml",
        "shell_spawn",
        argv("sh -c echo true | sh"),
        argv("sh -c echo true | cat"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_base64_execution.yml",
        "shell_spawn",
        argv("sh -c echo dHJ1ZQo= | base64 -d | sh"),
        argv("sh -c echo dHJ1ZQo= | base64 -d | cat", "sh -c echo true | sh"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_base64_decode.yml",
        "shell_spawn",
        argv("base64 -d"),
        argv(f"base64 {W}/plain"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_env_shell_invocation.yml",
        "shell_spawn",
        argv("env /bin/sh -c true"),
        argv("env /usr/bin/true"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_nice_shell_execution.yml",
        "shell_spawn",
        argv("nice /bin/sh"),
        argv("nice /usr/bin/true"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_flock_shell_execution.yml",
        "shell_spawn",
        argv(f"flock -u {W}/lock /bin/sh -c true"),
        argv(f"flock -u {W}/lock /usr/bin/true"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_capsh_shell_invocation.yml",
        "shell_spawn",
        argv("capsh --"),
        argv("capsh --print"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_python_base64_encoded_execution.yml",
        "shell_spawn",
        argv("python3 -c import base64; base64.b64decode('dHJ1ZQ==')"),
        argv("python3 -c import base64; base64.b64encode(b'true')"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_python_pty_spawn.yml",
        "shell_spawn",
        argv('python3 -c import pty; pty.spawn("/bin/true")'),
        argv("python3 -c import pty; print(pty.CHILD)"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_python_shell_os_system.yml",
        "shell_spawn",
        argv('python3 -c import os; os.system("/bin/sh -c true")'),
        argv('python3 -c import os; os.system("/usr/bin/true")'),
    ),
    # syscalls: mknod, syslog, personality, insmod, split
    Case(
        f"{AUDITD}/syscall/lnx_auditd_susp_special_file_creation_via_mknod_syscall.yml",
        "syscalls",
        (Pick(syscall="mknod"),),
        (Pick(syscall="mknodat"),),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_mkfifo_named_pipe_creation_susp_location.yml",
        "syscalls",
        argv(f"mkfifo {W}/fifo"),
        argv("mkfifo /run/detect-sigma-fifo"),
    ),
    Case(
        f"{AUDITD}/syscall/lnx_auditd_clean_disable_dmesg_logs_via_syslog.yml",
        "syscalls",
        (Pick(syscall="syslog", a0="4"),),
        (Pick(syscall="syslog", a0="a"),),
    ),
    Case(
        f"{AUDITD}/lnx_auditd_disable_aslr_protection.yml",
        "syscalls",
        (Pick(syscall="personality", a0="40000"),),
        (Pick(syscall="personality", a0="0"),),
    ),
    Case(
        f"{AUDITD}/syscall/lnx_auditd_load_module_insmod.yml",
        "syscalls",
        argv(f"insmod {W}/absent.ko"),
        argv("lsmod"),
    ),
    Case(
        f"{AUDITD}/syscall/lnx_auditd_split_file_into_pieces.yml",
        "syscalls",
        argv(f"split -b 512 {W}/lines {W}/part."),
        argv(f"csplit -s {W}/lines 3 -f {W}/cs."),
    ),
    # accounts: a throwaway user and group, programs run as www-data
    Case(
        f"{AUDITD}/syscall/lnx_auditd_create_account.yml",
        "accounts",
        (
            Pick(record="ADD_USER"),
            *argv("useradd -M -N -s /usr/sbin/nologin -c detect sigma capture detectsigma"),
        ),
        (
            Pick(record="DEL_USER"),
            Pick(record="ADD_GROUP"),
            *argv("userdel detectsigma", "groupadd detectsigmag"),
        ),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_groupdel.yml",
        "accounts",
        argv("groupdel detectsigmag"),
        argv("groupadd detectsigmag", "userdel detectsigma"),
    ),
    Case(
        f"{AUDITD}/syscall/lnx_auditd_web_rce.yml",
        "accounts",
        (Pick(argv="/usr/bin/true", euid="33"),),
        (
            Pick(argv="/usr/bin/true", euid="34"),
            *argv("setpriv --reuid=33 --regid=33 --clear-groups /usr/bin/true"),
        ),
    ),
    # systemd_unit: creating unit files
    Case(
        f"{AUDITD}/path/lnx_auditd_systemd_service_creation.yml",
        "systemd_unit",
        (
            Pick(path=UNIT, nametype="CREATE"),
            Pick(path=f"{HOME}/.config/systemd/user/detect-sigma.service", nametype="CREATE"),
        ),
        (
            Pick(path=UNIT, nametype="NORMAL"),
            Pick(path=UNIT, nametype="DELETE"),
            Pick(path=f"{HOME}/.config/notes.txt", nametype="CREATE"),
        ),
    ),
    # collection: archives, credentials in files, an archive hidden in an image
    Case(
        f"{AUDITD}/execve/lnx_auditd_data_compressed.yml",
        "collection",
        argv(f"tar -czf {W}/out.tgz -C {W} data", f"gzip -k {W}/data/app.conf"),
        argv(f"tar -tzf {W}/out.tgz", f"gzip -t {W}/data/app.conf.gz", "gzip -d"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_find_cred_in_files.yml",
        "collection",
        argv(f"grep -r password {W}/data"),
        argv(f"grep -r username {W}/data"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_hidden_zip_files_steganography.yml",
        "collection",
        argv(f"cat {W}/pic.jpg {W}/secret.zip"),
        argv(f"cat {W}/pic.jpg {W}/note.txt"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_unzip_hidden_zip_files_steganography.yml",
        "collection",
        argv(f"unzip {W}/hidden.jpg -d {W}/unz1"),
        argv(f"unzip {W}/secret.zip -d {W}/unz2"),
    ),
    # loopback_net: a Python web server on 127.0.0.1 and an upload to it
    Case(
        f"{PROC}/proc_creation_lnx_python_http_server_execution.yml",
        "loopback_net",
        argv(f"python3 -m http.server --bind 127.0.0.1 --directory {W} 18765"),
        argv("python3 -m json.tool"),
    ),
    Case(
        f"{AUDITD}/execve/lnx_auditd_data_exfil_wget.yml",
        "loopback_net",
        argv(f"wget --post-file={W}/loot.txt -q -O /dev/null http://127.0.0.1:18765/"),
        argv("wget -q -O /dev/null http://127.0.0.1:18765/loot.txt"),
    ),
    # parent_child: children of parents named like servers (process tree: ParentImage and
    # ParentCommandLine); near misses are the same kind of child under the scenario's bash
    Case(
        f"{PROC}/proc_creation_lnx_susp_java_children.yml",
        "parent_child",
        argv("bash -c id", "/usr/bin/curl --version", "/usr/bin/curl -V"),
        argv("bash -c id -u -n", "sh -c id"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_webshell_detection.yml",
        "parent_child",
        argv("/usr/bin/whoami"),
        argv("/usr/bin/date", "whoami"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_rsync_shell_spawn.yml",
        "parent_child",
        argv("/bin/bash -c true"),
        argv("/usr/bin/id", "bash -c id -u -n"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_shell_child_process_from_parent_tmp_folder.yml",
        "parent_child",
        argv("bash -c id", "/bin/bash -c true"),
        argv("bash -c id -u -n", "/usr/bin/id"),
    ),
    Case(
        f"{PROC}/proc_creation_lnx_susp_interactive_bash.yml",
        "parent_child",
        argv("whoami"),
        argv("id -u", "/usr/bin/whoami"),
    ),
    Case(
        "rules-emerging-threats/2024/Exploits/CVE-2024-3094/"
        "proc_creation_lnx_exploit_cve_2024_3094_sshd_child_process.yml",
        "parent_child",
        argv("sh -c id"),
        argv("sh -c id -g -n", "/usr/bin/id -g"),
    ),
    Case(
        "rules-emerging-threats/2023/Exploits/CVE-2023-22518/"
        "proc_creation_lnx_exploit_cve_2023_22518_confluence_java_child_proc.yml",
        "parent_child",
        argv("/usr/bin/curl -V"),
        argv("/usr/bin/curl --version", "bash -c id"),
    ),
)


@cache
def capture_events(name: str) -> tuple[AuditEvent, ...]:
    events: list[AuditEvent] = []
    machine = Reassembler(events.append)
    machine.feed(iter_lines([str(CAPTURES / f"{name}.log")]))
    machine.flush()
    return tuple(events)


def serials(name: str, picks: tuple[Pick, ...]) -> set[int]:
    """Serials of the events each pick chooses; a pick that chooses nothing fails."""
    chosen: set[int] = set()
    for pick in picks:
        found = {event.serial for event in capture_events(name) if pick(event)}
        assert found, f"{name}.log: no event for pick ({pick})"
        chosen |= found
    return chosen


def alerts(rule_path: Path, capture: str) -> dict[int, set[str]]:
    """Serial -> ids of the rules that alerted on it, with only `rule_path` loaded."""
    ruleset = load_detections([rule_path], default=False)
    assert not ruleset.errors, [str(error) for error in ruleset.errors]
    assert len(ruleset.rules) == 1
    engine = Engine(ruleset.rules)
    assert not engine.not_applicable, "the rule's logsource is not run on audit logs"
    found: dict[int, set[str]] = {}
    for event in capture_events(capture):
        for match in engine.evaluate(event):
            found.setdefault(event.serial, set()).add(match.rule.id)
    return found


def case_id(case: Case) -> str:
    return Path(case.rule).stem


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_fires_on_activity_not_on_near_miss(case: Case) -> None:
    rule_path = SIGMA_ROOT / case.rule
    rule_id = yaml.safe_load(rule_path.read_text(encoding="utf-8"))["id"]
    found = alerts(rule_path, case.capture)
    assert {rule for rules in found.values() for rule in rules} <= {rule_id}
    expected = serials(case.capture, case.match)
    near = serials(case.capture, case.near)
    assert not expected & near, "a pick is both a match and a near miss"
    missed = sorted(expected - found.keys())
    assert not missed, f"{case.rule}: no alert on events {missed} of {case.capture}.log"
    unexpected = sorted(near & found.keys())
    assert not unexpected, f"{case.rule}: alerts on near misses {unexpected}"


def test_cases_cover_both_views() -> None:
    """At least 18 rules, at least 8 of them SigmaHQ's record-view (service: auditd) rules."""
    rules = {case.rule for case in CASES}
    assert len(rules) == len(CASES), "one case per rule"
    assert len(rules) >= 18
    assert sum(rule.startswith(AUDITD) for rule in rules) >= 8
