"""The Debian packages behind the programs the capture scripts run (no kernel, no root).

Each script in scripts/capture/**/*.sh that runs a program outside Debian's Essential set says
so at its top, `require PROGRAM:PACKAGE...`, and stops at once with `missing program: X (Debian
package Y)` where one is missing (instead of a `|| true`, or a `set -u` script, going on
without it). Checked here against PACKAGES (below: the package that ships each program the
scripts run, from `dpkg -S` on Debian 12) and the Makefile's DEB_PACKAGES (what `make
system-deps` installs):

- every program a script runs is in PACKAGES or ESSENTIAL, and the script requires it unless
  its package is Essential (those are on every Debian system);
- every `require` names the package PACKAGES gives, and that package is in DEB_PACKAGES;
- every package in DEB_PACKAGES is required by a script or listed in TEST_PACKAGES.

Programs are found by a small scan of the shell text: the first word of each command (after
assignments and wrappers: `timeout 3`, `setpriv ...`, `sudo -u root`, the script's own `"$@"`
functions), in `$(...)`, in heredocs fed to bash and in the `-c` strings of shells. It does not
see programs named only inside other strings (a printf'd CGI script, Python's execvp, `echo ...
| bash`), nor in `trap` strings.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "scripts" / "capture").rglob("*.sh"))

# Debian package -> the programs of it the scripts run ($CAPTURE_PY: capture.py's
# /usr/bin/python3). These packages must be in DEB_PACKAGES and each program `require`d.
PACKAGES = {
    "apparmor": "aa-status apparmor_parser",
    "apt": "apt-cache apt-get",
    "at": "at atq atrm",
    "auditd": "auditctl auditd augenrules aureport ausearch ausyscall",
    "curl": "curl",
    "e2fsprogs": "chattr lsattr",
    "gcc": "gcc",
    "git": "git",
    "gpg": "gpg",
    "gpgconf": "gpgconf",
    "iproute2": "ip ss",
    "iptables": "iptables",
    "kmod": "insmod lsmod modinfo modprobe rmmod",
    "libcap2-bin": "capsh getcap setcap",
    "lsof": "lsof",
    "make": "make",
    "mount": "losetup mount umount",
    "net-tools": "arp netstat",
    "nmap": "nmap",
    "openssh-client": "ssh ssh-keygen",
    "openssl": "openssl",
    "passwd": "chage chpasswd gpasswd groupadd groupdel groupmod passwd useradd userdel usermod",
    "procps": "free pgrep ps top uptime",
    "python3": "$CAPTURE_PY python3",
    "sqlite3": "sqlite3",
    "strace": "strace",
    "sudo": "sudo",
    "systemd": "hostnamectl journalctl localectl systemctl systemd-detect-virt timedatectl",
    "systemd-sysv": "reboot shutdown",  # systemctl's personalities
    "unzip": "unzip",
    "util-linux-extra": "hwclock",
    "vim": "vim",
    "wget": "wget",
    "xxd": "xxd",
    "zip": "zip",
}
# Debian 12's Essential packages (dpkg refuses to remove them): not required, not listed.
ESSENTIAL = {
    "bash": "bash",
    "coreutils": "[ base64 cat chmod chown cp csplit cut date dd df dirname du echo env groups"
    " head id ln ls mkdir mkfifo mknod mv nice nproc rm rmdir seq shred sleep split stat tail"
    " timeout touch tr true truncate uname wc whoami",
    "dpkg": "dpkg dpkg-query",
    "dash": "sh",
    "findutils": "find",
    "grep": "grep",
    "gzip": "gzip",
    "hostname": "domainname hostname",
    "libc-bin": "getconf getent locale",
    "login": "lastlog login",
    "perl-base": "perl",
    "sed": "sed",
    "tar": "tar",
    "util-linux": "findmnt flock mountpoint nsenter runuser setarch setpriv setsid su unshare"
    " wipefs",
}
PROGRAMS = {
    program: package
    for table in (PACKAGES, ESSENTIAL)
    for package, programs in table.items()
    for program in programs.split()
}

# DEB_PACKAGES entries that no script requires: what the tests themselves run or need.
TEST_PACKAGES = {
    "auditd": "the kernel tests start auditd and run auditctl; test_syscall_tables runs ausyscall",
    "python3-audit": "test_auparse_agreement runs /usr/bin/python3 with auparse",
    "libc6-dev": "noise.sh's gcc compiles a file that includes <stdio.h>",
    "chromium": "tests/report opens the HTML report in headless Chromium",
    "valgrind": "tests/bench/test_instructions.py counts instructions with callgrind",
}

REQUIRE_FUNCTION = """\
require() {
    local s
    for s; do
        command -v "${s%%:*}" >/dev/null && continue
        echo "missing program: ${s%%:*} (Debian package ${s#*:})" >&2
        exit 127
    done
}
"""

BUILTIN_NAMES = (
    ". : [ [[ ]] break cd command continue declare echo eval exec exit export false history kill"
    " local printf read return set shift source test trap true umask unset wait"
)
BUILTINS = frozenset(BUILTIN_NAMES.split())
KEYWORD_NAMES = "! { } do done elif else esac fi for function if in then until while"
KEYWORDS = frozenset(KEYWORD_NAMES.split())
SHELLS = frozenset(("bash", "sh"))
# Wrappers: their options that take a value, and their words before the wrapped command.
WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "env": (frozenset(), 0),
    "exec": (frozenset(("-a",)), 0),
    "flock": (frozenset(), 1),  # the lock file
    "nice": (frozenset(("-n",)), 0),
    "runuser": (frozenset(("-u", "-g")), 0),
    "setarch": (frozenset(), 1),  # the architecture
    "setpriv": (frozenset(), 0),
    "strace": (frozenset(("-e", "-o", "-p")), 0),
    "sudo": (frozenset(("-u", "-g")), 0),
    "timeout": (frozenset(), 1),  # the duration
    "unshare": (frozenset(("--propagation",)), 0),
}
# Where the scripts put programs of their own (copies of true, of bash...), not Debian's.
OWN_PROGRAMS = ("$", "./", "/tmp/", "/var/tmp/", "/dev/shm/", "/usr/local/")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
OPERATORS = ("&&", "||", ";;", "<<<", "<<", ">>", "<>", ">&", "<&", "&>", ";", "&", "|", "(", ")")
SEPARATORS = frozenset((";", "&&", "||", ";;", "&", "|", "(", ")", "\n"))
REDIRECTIONS = frozenset(("<", ">", ">>", "<>", ">&", "<&", "&>", "<<<", "<<"))


def deb_packages() -> list[str]:
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^DEB_PACKAGES\s*:?=(.*)$", text, re.MULTILINE)
    assert match is not None, "no DEB_PACKAGES in the Makefile"
    return match.group(1).split()


# --- the scan ---------------------------------------------------------------------------------


def _balanced(text: str, start: int, open_: str, close: str) -> int:
    """Index just past the `close` that matches the `open_` at text[start]."""
    depth, i = 0, start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == "'" and open_ == "(":
            i = text.index("'", i + 1) + 1
            continue
        depth += (text[i] == open_) - (text[i] == close)
        i += 1
        if depth == 0:
            return i
    raise ValueError(f"unbalanced {open_!r} in {text[start : start + 60]!r}")


def _substitution(text: str, i: int, inner: list[str]) -> int:
    """Past the `$(...)` or `$((...))` at text[i]; a command substitution's text to `inner`."""
    end = _balanced(text, i + 1, "(", ")")
    if text[i + 2] != "(":
        inner.append(text[i + 2 : end - 1])
    return end


def _word_part(text: str, i: int, word: str, inner: list[str]) -> int | None:
    """Past the quoted string, escape or expansion at text[i] (part of a word), if one is."""
    c = text[i]
    if c == "\\":
        return i + 2
    if c == "'":
        return text.index("'", i + 1) + 1
    if c == '"':
        j = i + 1
        while text[j] != '"':
            if text[j] == "\\":
                j += 2
            elif text.startswith("$(", j):
                j = _substitution(text, j, inner)
            else:
                j += 1
        return j + 1
    if text.startswith("$(", i):
        return _substitution(text, i, inner)
    if text.startswith("${", i):
        return _balanced(text, i + 1, "{", "}")
    if c == "(" and word.endswith("="):  # an array assignment
        return _balanced(text, i, "(", ")")
    return None


def _after_heredocs(text: str, i: int, delimiters: list[str], inner: list[str]) -> int:
    """Past the heredoc bodies starting at text[i]; those of a bash (delimiter SH) to `inner`."""
    for delimiter in delimiters:
        end = re.compile(rf"^\t*{re.escape(delimiter)}$", re.MULTILINE).search(text, i)
        assert end is not None, f"heredoc {delimiter} not closed"
        if delimiter == "SH":
            inner.append(text[i : end.start()])
        i = end.end()
    return i


def tokens(text: str, inner: list[str]) -> Iterator[str]:
    """Words (raw: quotes kept) and operators of shell text, comments and heredocs left out;
    the text of each `$(...)` and of each heredoc fed to bash goes to `inner`."""
    i, word, heredocs = 0, "", list[str]()
    while i < len(text):
        end = _word_part(text, i, word, inner)
        c = text[i]
        if end is not None:
            word, i = word + text[i:end], end
        elif c == "#" and not word:
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif c not in " \t\n<>" and not text.startswith(OPERATORS, i):
            word, i = word + c, i + 1
        else:
            if word and not (word.isdigit() and c in "<>"):  # `2>`: a descriptor, not a word
                yield word
            word = ""
            if c in " \t\n":
                i += 1
                if c == "\n":
                    yield c
                    i, heredocs = _after_heredocs(text, i, heredocs, inner), []
                continue
            op = next((o for o in OPERATORS if text.startswith(o, i)), c)
            i += len(op)
            if op == "<<":
                delimiter = re.match(r"-?\s*(['\"]?)(\w+)\1", text[i:])
                assert delimiter is not None, text[i : i + 20]
                heredocs.append(delimiter.group(2))
                i += delimiter.end()
            yield op
    if word:
        yield word


def unquote(word: str) -> str:
    try:
        return "".join(shlex.split(word))
    except ValueError:
        return word


def scan(text: str) -> tuple[set[str], set[str]]:
    """(the commands run, the functions defined) in shell text."""
    inner: list[str] = []
    words = list(tokens(text, inner))
    found: set[str] = set()
    functions: dict[str, int] = {}  # name -> the words its "$@" skips (one a `shift`), or -1
    for body in inner:
        found |= scan(body)[0]
    i, at_command = 0, True
    while i < len(words):
        word = words[i]
        if word in SEPARATORS:
            at_command, i = True, i + 1
        elif word in REDIRECTIONS:
            i += 1 if word == "<<" else 2  # and its target (a heredoc's is gone already)
        elif not at_command or ASSIGNMENT.match(word):
            i += 1
        elif word in KEYWORDS:
            at_command, i = word not in ("for", "case"), i + 1
        elif words[i + 1 : i + 3] == ["(", ")"]:  # a function definition
            block = words[i + 3 : words.index("}", i)]
            functions[unquote(word)] = block.count("shift") if '"$@"' in block else -1
            i += 3
        else:
            name = unquote(word)
            found.add(name)
            i, wrapped = _command(words, i, name, functions, found)
            at_command = wrapped is not None
            i = wrapped if wrapped is not None else i
    return found, set(functions)


def _command(
    words: list[str], i: int, name: str, functions: dict[str, int], found: set[str]
) -> tuple[int, int | None]:
    """Where the command at words[i] ends, and where the command it wraps starts (if it is a
    wrapper); the `-c` strings of shells and `su` are scanned on the way."""
    args: list[tuple[int, str]] = []  # (index in words, unquoted); redirections left out
    j = i + 1
    while j < len(words) and words[j] not in SEPARATORS:
        if words[j] in REDIRECTIONS:
            j += 1 if words[j] == "<<" else 2
            continue
        args.append((j, unquote(words[j])))
        j += 1
    values = [value for _, value in args]
    base = name.rsplit("/", 1)[-1]
    shell = base in SHELLS or base == "su" or "/srv/" in name  # /srv/: copies of bash
    for option, value in pairwise(values):
        if option == "-c" and shell:
            found |= scan(value)[0]
        elif option == "-s" and base == "su":
            found.add(value)
    shifts = functions.get(name, -1)
    if base not in WRAPPERS and shifts < 0:
        return j, None
    valued, positional = WRAPPERS.get(base, (frozenset(), shifts))
    k = _options(values, _options(values, 0, valued) + positional, valued)
    return j, (args[k][0] if k < len(args) else None)


def _options(values: list[str], k: int, valued: frozenset[str]) -> int:
    while k < len(values) and (values[k].startswith("-") or ASSIGNMENT.match(values[k])):
        k += 2 if values[k] in valued else 1
    return k


def run_programs(text: str) -> set[str]:
    """The system's programs a script runs (not its functions, builtins or own copies)."""
    found, functions = scan(text)
    own = {p for p in found if p.startswith(OWN_PROGRAMS) and p != "$CAPTURE_PY"}
    return found - BUILTINS - functions - own


def requires(text: str) -> list[tuple[str, str]]:
    """The PROGRAM:PACKAGE pairs of the script's `require` lines."""
    pairs = []
    for line in text.splitlines():
        if line.startswith("require "):
            for spec in shlex.split(line)[1:]:
                program, _, package = spec.partition(":")
                pairs.append((program, package))
    return pairs


def basename(program: str) -> str:
    return program if program.startswith("$") else program.rsplit("/", 1)[-1]


# --- the tests --------------------------------------------------------------------------------


def test_the_scan_finds_commands_behind_wrappers_and_in_strings() -> None:
    text = (
        'set -eu\nas_uid() { uid=$1; shift; setpriv --reuid="$uid" "$@"; }\n'
        "x=$(hostname) timeout 3 getcap -r / 2>/dev/null || true\n"
        "as_uid 65534 cat /etc/shadow > /dev/null 2>&1\n"
        "\"$W/srv/java\" -c 'bash -c id; /usr/bin/curl --version' >/dev/null\n"
        'sudo -u root /usr/bin/true; [ -e f ] && insmod "$w/x.ko"; echo $((1 + 2))\n'
        "\"$CAPTURE_PY\" - <<'PY'\nimport os\nos.system('wget')\nPY\n"
        "unshare --uts --propagation private /bin/bash -s <<'SH'\nmount --bind a b\nSH\n"
        "cleanup() {\n    useradd x\n}\nfor _ in $(seq 5); do curl -s x && break; done\n"
    )
    assert scan(text)[1] == {"as_uid", "cleanup"}
    assert run_programs(text) == {
        "hostname", "timeout", "getcap", "setpriv", "cat", "bash", "id", "/usr/bin/curl", "sudo",
        "/usr/bin/true", "insmod", "$CAPTURE_PY", "unshare", "/bin/bash", "mount", "useradd",
        "seq", "curl",
    }  # fmt: skip


def test_makefile_lists_each_package_once_and_no_essential_one() -> None:
    packages = deb_packages()
    assert len(packages) == len(set(packages))
    assert not set(packages) & set(ESSENTIAL)


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_requires_what_it_runs_and_make_installs_it(script: Path) -> None:
    text = script.read_text()
    packages = set(deb_packages())
    required = requires(text)
    problems = []
    for program, package in required:
        listed = PROGRAMS.get(basename(program))
        if listed != package:
            problems.append(f"require {program}:{package}, but PACKAGES has it in {listed}")
        if package not in packages:
            problems.append(f"{package} (for {program}) is not in the Makefile's DEB_PACKAGES")
    if required and REQUIRE_FUNCTION not in text:
        problems.append("calls `require` without the function the other scripts define")
    names = {basename(program) for program, _ in required}
    for program in sorted(run_programs(text)):
        owner = PROGRAMS.get(basename(program))
        if owner is None:
            problems.append(f"runs {program}: add it to PACKAGES (or ESSENTIAL) in this test")
        elif owner not in ESSENTIAL and basename(program) not in names:
            problems.append(f"runs {program} without `require {program}:{owner}`")
    assert not problems, "\n".join(problems)


def test_every_listed_package_is_needed() -> None:
    required = {package for script in SCRIPTS for _, package in requires(script.read_text())}
    stale = set(deb_packages()) - required - set(TEST_PACKAGES)
    assert not stale, f"DEB_PACKAGES entries that nothing needs: {sorted(stale)}"
