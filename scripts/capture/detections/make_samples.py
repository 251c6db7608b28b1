#!/usr/bin/env python3
"""Write the sample files of the detections captured by techniques.sh and audit_pipeline.sh.

Each sample holds whole events of one capture in tests/detections/captures, verbatim and in
file order, picked by what they are (a pattern per event, from the scenario's description):
`match` events are the procedures, `ok` events the near misses beside them. A correlation's
sample is a run of consecutive events: `match` on each event that completes a window (worked
out here from the events themselves, independently of the engine), `ok` on the rest.
`detect test` then checks each rule against its annotations.

    .venv/bin/python scripts/capture/detections/make_samples.py [SLUG ...]
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
CAPTURES = "tests/detections/captures"
SERIAL_RE = re.compile(r"msg=audit\(\d+\.\d+:(\d+)\):")
ANNOTATION_RE = re.compile(r"#\s*(match|ok):\s*(\S+)\s*$")  # detect.pipeline.samples's
ARG_RE = re.compile(r' a(\d+)=("[^"]*"|[0-9A-F]+)(?=\s|$)')
PROCESS_RE = re.compile(r"type=SYSCALL .* pid=(\d+) .* uid=(\d+) ")
SCAN_PORTS = 20  # port_scan.yml's threshold: distinct ports per process
DISCOVERY_COMMANDS = 3  # service_account_discovery_burst.yml's: distinct commands per user
DISCOVERY = frozenset(  # service_account_discovery_burst.yml's commands
    {
        *("whoami", "id", "uname", "hostname", "ps", "ip", "ifconfig", "netstat", "ss", "w"),
        *("who", "last", "lsb_release", "groups", "arp", "getent", "lscpu", "env"),
    }
)


@dataclass(frozen=True)
class Event:
    serial: int
    lines: tuple[str, ...]
    text: str  # the lines, then `exec: ARGV` for an execve (arguments decoded)


@dataclass(frozen=True)
class Spec:
    """Events by what they are: each pattern is a regular expression searched in an event's
    text and must find at least one event. A correlation's sample is every event from the
    first one `span[0]` finds to the last one `span[1]` finds; `complete` picks its matches."""

    capture: str  # scenario name: capture and script share it
    match: tuple[str, ...]
    ok: tuple[str, ...]
    what: str  # the match and ok events in words, for the sample's header
    span: tuple[str, str] | None = None
    complete: Callable[[list[Event]], set[int]] | None = None


def decode_argv(line: str) -> list[str]:
    args = {}
    for index, value in ARG_RE.findall(line.split("): ", 1)[1]):
        text = value[1:-1] if value.startswith('"') else bytes.fromhex(value).decode()
        args[int(index)] = text
    return [args[i] for i in sorted(args)]


def read_events(capture: Path) -> list[Event]:
    grouped: dict[int, list[str]] = {}
    for line in capture.read_text(encoding="utf-8", errors="surrogateescape").splitlines():
        found = SERIAL_RE.search(line)
        if found is None:
            raise SystemExit(f"{capture}: not an audit record: {line[:80]!r}")
        grouped.setdefault(int(found.group(1)), []).append(line)
    events = []
    for serial, lines in grouped.items():
        execve = [decode_argv(line) for line in lines if line.startswith("type=EXECVE ")]
        argv = f"\nexec: {' '.join(execve[0])}" if execve else ""
        events.append(Event(serial, tuple(lines), "\n".join(lines) + argv))
    return events


def process(event: Event) -> tuple[int, int] | None:
    """(pid, uid) from the event's SYSCALL record."""
    found = PROCESS_RE.search(event.text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def every_20th_port(events: list[Event]) -> set[int]:
    """Connects (IPv4) of one process: each time its distinct ports reach SCAN_PORTS, the
    event completes a window, which starts anew."""
    ports: dict[int, set[str]] = {}
    done: set[int] = set()
    for event in events:
        found = re.search(r"type=SOCKADDR .* saddr=0200([0-9A-F]{4})", event.text)
        if " syscall=42 " not in event.text or found is None:
            continue
        pid = process(event)[0]  # type: ignore[index]
        seen = ports.setdefault(pid, set())
        seen.add(found.group(1))
        if len(seen) == SCAN_PORTS:
            done.add(event.serial)
            seen.clear()
    return done


def every_3rd_discovery_command(events: list[Event]) -> set[int]:
    """Discovery commands of one service account (uid 1-999 or 65534): each time its distinct
    commands reach DISCOVERY_COMMANDS, the event completes a window, which starts anew."""
    commands: dict[int, set[str]] = {}
    done: set[int] = set()
    for event in events:
        found = re.search(r' syscall=59 .* exe="([^"]+)"', event.text)
        who = process(event)
        if found is None or who is None or not (0 < who[1] < 1000 or who[1] == 65534):
            continue
        name = found.group(1).rsplit("/", 1)[1]
        if name in DISCOVERY:
            seen = commands.setdefault(who[1], set())
            seen.add(name)
            if len(seen) == DISCOVERY_COMMANDS:
                done.add(event.serial)
                seen.clear()
    return done


SAMPLES: dict[str, Spec] = {
    "privilege-escalation/proc_mem_written": Spec(
        "techniques",
        (
            r'exe="/usr/bin/python3[^"]*".*\n(.*\n)*.*name="/proc/\d+/mem"',
            r'exe="/usr/bin/dd".*\n(.*\n)*.*name="/proc/\d+/mem"',
        ),
        (
            r"exec: dd if=\S+ of=/proc/\d+/mem",
            r'exe="/usr/bin/dd".*\n(.*\n)*.*/word" .*nametype=CREATE',
            r'name="/proc/\d+/oom_score_adj"',
        ),
        "match: python opening a sleep's /proc/PID/mem read-write, `dd of=/proc/PID/mem`. ok: "
        "the dd execve itself, dd creating its output file, `echo 0 >/proc/PID/oom_score_adj`.",
    ),
    "privilege-escalation/process_vm_writev": Spec(
        "techniques",
        (r" syscall=311 ",),
        (r" syscall=310 ",),
        "match: process_vm_writev into a sleep. ok: process_vm_readv of the same bytes.",
    ),
    "stealth/masquerade_file_type": Spec(
        "techniques",
        (r"exec: /tmp/detect-capture/report\.pdf$",),
        (r"exec: /tmp/detect-capture/report\.sh$", r"exec: /tmp/dbus-helper --version"),
        "match: a copy of true named report.pdf run. ok: the same copy named report.sh, curl "
        "copied to /tmp/dbus-helper run.",
    ),
    "stealth/executable_name_space_or_rtlo": Spec(
        "techniques",
        (
            r"exec: /tmp/detect-capture/update\.sh $",
            "exec: /tmp/detect-capture/invoice_\u202efdp\\.sh$",
        ),
        (r"exec: /tmp/detect-capture/report\.pdf$", r"exec: /tmp/detect-capture/report\.sh$"),
        "match: a copy of true named `update.sh ` (trailing space) and one named "
        "invoice_<U+202E>fdp.sh run. ok: copies named report.pdf and report.sh run.",
    ),
    "stealth/kernel_thread_name_argv0": Spec(
        "techniques",
        (r"exec: \[kworker/0:2\] 0$",),
        (r"exec: -bash 0$", r"exec: /usr/bin/\[ -f /etc/hostname \]$"),
        "match: `exec -a '[kworker/0:2]' sleep 0`. ok: `exec -a -bash sleep 0` (a login "
        "shell's argv[0]), `/usr/bin/[ -f /etc/hostname ]`.",
    ),
    "stealth/system_utility_copied_to_temp": Spec(
        "techniques",
        (
            r"exec: cp /usr/bin/curl /tmp/dbus-helper$",
            r"exec: cp /usr/bin/bash /dev/shm/kworker-sh$",
            r"exec: cp /usr/bin/curl /tmp/detect-capture/curl-copy$",
        ),
        (
            r"exec: cp /usr/bin/true /tmp/detect-capture/report\.pdf$",
            r"exec: cp /etc/hosts /tmp/hosts\.bak$",
        ),
        "match: curl copied to /tmp/dbus-helper, bash to /dev/shm/kworker-sh, curl into the "
        "work folder under /tmp. ok: true copied to report.pdf (not a tool of the list), "
        "/etc/hosts copied to /tmp/hosts.bak.",
    ),
    "stealth/hidden_file_in_temp_dir": Spec(
        "techniques",
        (
            r'name="/tmp/\.detect-cache" .*nametype=CREATE',
            r'name="/dev/shm/\.detect-x" .*nametype=CREATE',
        ),
        (
            r'name="/dev/shm/\.detect-x/t" .*nametype=CREATE',
            r'name="/tmp/detect-visible" .*nametype=CREATE',
            r'name="\S+/repo/\.gitignore" .*nametype=CREATE',
        ),
        "match: touch /tmp/.detect-cache, mkdir /dev/shm/.detect-x. ok: a file inside that "
        "folder, touch /tmp/detect-visible, a .gitignore in a repository under the work folder.",
    ),
    "persistence/python_startup_hook_written": Spec(
        "techniques",
        (
            r'name="\S+/detect_sample\.pth" .*nametype=CREATE',
            r'name="\S+/sitecustomize\.py" .*nametype=CREATE',
        ),
        (
            r'name="\S+/detect_sample_mod\.py" .*nametype=CREATE',
            r'name="\S+/detect_sample\.pth" .*nametype=DELETE',
        ),
        "match: detect_sample.pth and sitecustomize.py written in /usr/local's dist-packages. "
        "ok: an ordinary module written there, the .pth file deleted.",
    ),
    "persistence/user_added_to_privileged_group": Spec(
        "techniques",
        (r"exec: usermod -aG sudo \S+$", r"exec: gpasswd -a \S+ adm$"),
        (r"exec: useradd -M ", r"exec: usermod -aG users ", r"exec: usermod -c "),
        "match: `usermod -aG sudo USER`, `gpasswd -a USER adm`. ok: `useradd -M -s /bin/sh "
        "USER`, `usermod -aG users USER`, `usermod -c COMMENT USER`.",
    ),
    "initial-access/service_account_session": Spec(
        "techniques",
        (
            r'type=USER_START .*acct="www-data".*exe="/usr/bin/su"',
            r'type=USER_START .*acct="www-data".*exe="/usr/sbin/runuser"',
            r'type=USER_START .*acct="nobody"',
        ),
        (r'type=USER_START .*acct="detect-sample-grp"',),
        "match: sessions (USER_START) opened by `su -s /bin/sh -c ... www-data`, `runuser -u "
        "www-data`, `runuser -u nobody`. ok: su to the throwaway user (uid 1000 and up).",
    ),
    "defense-impairment/firewall_disabled": Spec(
        "techniques",
        (r"exec: iptables -F$", r"exec: iptables -P INPUT ACCEPT$", r"exec: iptables -X$"),
        (
            r"exec: iptables -P INPUT DROP$",
            r"exec: iptables -A INPUT ",
            r"exec: iptables -L -n$",
            r"exec: iptables -S$",
        ),
        "match (in a network namespace of its own): `iptables -F`, `iptables -P INPUT ACCEPT`, "
        "`iptables -X`. ok: `iptables -P INPUT DROP`, `iptables -A INPUT ... -j ACCEPT`, "
        "`iptables -L -n`, `iptables -S`.",
    ),
    "privilege-escalation/nsenter_host_namespaces": Spec(
        "techniques",
        (r"exec: nsenter -t 1 -m ",),
        (r"exec: nsenter -t \d\d+ -n ",),
        "match: `nsenter -t 1 -m -u -i -n -p -- true` (refused in this container: the attempt). "
        "ok: `nsenter -t <the script's pid> -n -- ip link show lo`.",
    ),
    "privilege-escalation/core_pattern_or_release_agent_written": Spec(
        "techniques",
        (r'name="/proc/sys/kernel/core_pattern"',),
        (r'name="/proc/sys/net/ipv4/ip_forward"',),
        "match: core_pattern rewritten with its own value. ok: ip_forward written in a "
        "network namespace of its own.",
    ),
    "defense-impairment/command_history_logging_disabled": Spec(
        "techniques",
        (
            r"exec: bash -c unset HISTFILE; true$",
            r"exec: env HISTFILE=/dev/null bash -c true$",
            r"exec: bash -c set \+o history; export HISTSIZE=0; true$",
        ),
        (
            r"exec: bash -c true$",
            r'exec: bash -c echo "\$HISTFILE"',
            r"exec: bash -c HISTTIMEFORMAT=",
        ),
        "match: `bash -c 'unset HISTFILE; true'`, `env HISTFILE=/dev/null bash -c true`, "
        "`bash -c 'set +o history; export HISTSIZE=0; true'`. ok: `bash -c true` (started by "
        "env), `bash -c 'echo \"$HISTFILE\"'`, `bash -c 'HISTTIMEFORMAT=...; history'`.",
    ),
    "defense-impairment/root_certificate_installed": Spec(
        "techniques",
        (r'name="/usr/local/share/ca-certificates/detect-sample\.crt" .*nametype=CREATE',),
        (
            r'name="/tmp/detect-capture/detect-sample\.crt" .*nametype=CREATE',
            r'name="/usr/local/share/ca-certificates/detect-sample\.crt" .*nametype=DELETE',
            r'name="/tmp/detect-capture/copy\.crt" .*nametype=CREATE',
        ),
        "match: a self-signed certificate copied to /usr/local/share/ca-certificates. ok: "
        "openssl writing it in the work folder, its removal, a copy in the work folder.",
    ),
    "credential-access/packet_socket_opened": Spec(
        "techniques",
        (r" syscall=41 .* a0=11 a1=80003 ",),
        (
            r" syscall=41 .* a0=2 a1=80003 a2=1 ",
            r" syscall=41 .* a0=2 a1=80002 a2=0 .*python",
            r' syscall=41 .* a0=10 .*exe="/usr/bin/ip"',
        ),
        "match: socket(AF_PACKET, SOCK_RAW) in a network namespace. ok: socket(AF_INET, "
        "SOCK_RAW, ICMP), socket(AF_INET, SOCK_DGRAM), ip's netlink sockets.",
    ),
    "stealth/obfuscated_shell_command": Spec(
        "techniques",
        (
            r'exec: bash -c eval "\$\(echo \S+ \| base64 -d\)"$',
            r"exec: bash -c echo \S+ \| base64 --decode \| sh$",
            r"exec: bash -c cat\$\{IFS\}/etc/hostname$",
            r"exec: bash -c printf '(\\x[0-9a-f]{2})+' \| bash$",
        ),
        (
            r"exec: bash -c printf \S+ hello \| tr a-z A-Z$",
            r"exec: bash -c IFS=, read ",
            r"exec: bash -c echo \S+ \| base64 -d >/dev/null$",
        ),
        "match: `bash -c` with eval of base64-decoded text, base64 --decode piped to sh, "
        "cat${IFS}/etc/hostname, printf of hex escapes piped to bash. ok: printf piped to tr, "
        "`IFS=, read -r a b`, base64 -d into /dev/null.",
    ),
    "stealth/known_hosts_deleted": Spec(
        "techniques",
        (r'exe="/usr/bin/rm".*\n(.*\n)*.*name="\S+/\.ssh/known_hosts" .*nametype=DELETE',),
        (
            r'exe="/usr/bin/ssh-keygen".*\n(.*\n)*.*name="\S+/known_hosts2\.old" .*nametype=CREATE',
            r'exe="/usr/bin/ssh-keygen".*\n(.*\n)*.*name="\S+/known_hosts2" .*nametype=DELETE',
        ),
        "match: rm of ~/.ssh/known_hosts (in the work folder's home). ok: `ssh-keygen -R` "
        "renaming known_hosts2 to known_hosts2.old and its new file into place.",
    ),
    "execution/at_job_scheduled": Spec(
        "techniques",
        (r"exec: at now \+ 30 minutes$",),
        (r"exec: atq$", r"exec: at -l$"),
        "match: `at now + 30 minutes` (the job removed with atrm at the end). ok: atq, at -l.",
    ),
    "impact/cryptominer_command_line": Spec(
        "techniques",
        (r"exec: \S+/xmrig -o stratum",),
        (r"exec: \S+/backup-tool -o ",),
        "match: a copy of true named xmrig run with `-o stratum+tcp://127.0.0.1:3333 -u detect "
        "--donate-level 1`. ok: another copy run with `-o FILE -u detect`.",
    ),
    "discovery/service_account_discovery_burst": Spec(
        "techniques",
        (),
        (r"exec: runuser -u nobody -- id$",),
        "match: www-data's third distinct discovery command run through su (uname), and again "
        "in a new window through runuser (id). ok: every other event, among them root's id, "
        "whoami, uname, hostname, and nobody's single id.",
        span=(r"exec: su -s /bin/sh -c true ", r"exec: hostname$"),
        complete=every_3rd_discovery_command,
    ),
    "discovery/port_scan": Spec(
        "techniques",
        (),
        (r"exec: curl -s -o /dev/null http://127\.0\.0\.1:\d+/$",),
        "match: nmap -sT's and a python loop's connects to their 20th, 40th, ... distinct port "
        "of 127.0.0.1. ok: every other event, among them curl's four requests to two local "
        "ports and the scans' other connects.",
        span=(r"exec: curl -s --retry ", r"exec: rm -rf /tmp/\.detect-cache "),
        complete=every_20th_port,
    ),
    "defense-impairment/audit_daemon_signalled": Spec(
        "audit_pipeline",
        (r'type=OBJ_PID .*ocomm="auditd"', r"type=DAEMON_END .*auid=4242 "),
        (r'type=OBJ_PID .*ocomm="(bash|sleep)"',),
        "match: `kill -0` sent to auditd, the SIGTERM that stops it at the end (its kill record "
        "reached the log in this run), auditd's DAEMON_END naming the scenario as the sender. "
        "ok: the SIGTERM sent to the background `sleep` (still its forked bash) and that "
        "process signalling itself.",
    ),
    "defense-impairment/audit_kernel_settings_weakened": Spec(
        "audit_pipeline",
        (r"audit_rate_limit=50 ", r"audit_failure=0 ", r"audit_enabled=0 ", r"op=set lost=0 "),
        (
            r"op=add_rule ",
            r"audit_rate_limit=0 old=50 ",
            r"audit_failure=1 old=0 ",
            r"audit_backlog_limit=64 ",
            r"audit_enabled=1 ",
        ),
        "match: CONFIG_CHANGE of `auditctl -r 50`, `-f 0`, `-e 0`, `--reset-lost`. ok: a watch "
        "added, rate limit and failure mode put back, the backlog limit lowered, enabled set "
        "to 1.",
    ),
    "defense-impairment/audit_backlog_changed": Spec(
        "audit_pipeline",
        (
            r"audit_backlog_limit=64 ",
            r"audit_backlog_limit=\d+ old=64 ",
            r"audit_backlog_wait_time=0 ",
            r"audit_backlog_wait_time=\d+ old=0 ",
        ),
        (r"op=add_rule ", r"audit_rate_limit=50 ", r"op=set lost=0 "),
        "match: CONFIG_CHANGE of `auditctl -b 64` and back, `--backlog_wait_time 0` and back. "
        "ok: a watch added, the rate limit set, the lost counter reset.",
    ),
}


def find(events: list[Event], pattern: str, slug: str) -> list[Event]:
    found = [event for event in events if re.search(pattern, event.text, re.MULTILINE)]
    if not found:
        raise SystemExit(f"{slug}: no event for {pattern!r}")
    return found


def rule_id(rule_file: Path) -> str:
    """The generating rule's id: the first document (a correlation or a single rule)."""
    docs = [doc for doc in yaml.safe_load_all(rule_file.read_text()) if doc]
    return str(docs[0]["id"])


def choose(slug: str, spec: Spec, events: list[Event]) -> tuple[list[Event], set[int]]:
    """The sample's events, in file order, and the serials annotated `match`."""
    match = {e.serial for pattern in spec.match for e in find(events, pattern, slug)}
    ok = {e.serial for pattern in spec.ok for e in find(events, pattern, slug)}
    if spec.span is None:
        return [e for e in events if e.serial in match | ok], match
    first = find(events, spec.span[0], slug)[0]
    last = find(events, spec.span[1], slug)[-1]
    run = events[events.index(first) : events.index(last) + 1]
    if not ok <= {e.serial for e in run}:
        raise SystemExit(f"{slug}: ok events outside the span")
    assert spec.complete is not None
    return run, match | spec.complete(run)


def write_sample(slug: str, spec: Spec) -> None:
    rule_file = REPO / "detections" / f"{slug}.yml"
    identifier = rule_id(rule_file)
    capture = f"{CAPTURES}/{spec.capture}.log"
    chosen, match = choose(slug, spec, read_events(REPO / capture))
    head = [
        f"# Sample for {identifier}: events verbatim from {capture}",
        f"# (scenario scripts/capture/detections/{spec.capture}.sh;"
        " made by scripts/capture/detections/make_samples.py).",
        *(f"# {line}" for line in wrap(spec.what)),
    ]
    if any(ANNOTATION_RE.match(line) for line in head):
        raise SystemExit(f"{slug}: a header line reads as an annotation: reword {spec.what!r}")
    body: list[str] = []
    for event in chosen:
        body.append(f"# {'match' if event.serial in match else 'ok'}: {identifier}")
        body.extend(event.lines)
    text = "\n".join(head + body) + "\n"
    rule_file.with_suffix(".log").write_text(text, encoding="utf-8", errors="surrogateescape")


def wrap(text: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def main(slugs: list[str]) -> None:
    for slug in slugs or list(SAMPLES):
        write_sample(slug, SAMPLES[slug])


if __name__ == "__main__":
    main(sys.argv[1:])
