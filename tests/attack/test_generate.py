"""The catalog generator: regenerating gives the committed bytes; channel text reading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_attack_catalog.py"
CATALOG = REPO / "mappings" / "attack"
BUNDLES = REPO.parent / "shared" / "attack"


def catalog_script() -> ModuleType:
    return load_script(SCRIPT, "gen_attack_catalog")


@pytest.mark.skipif(not BUNDLES.is_dir(), reason="../shared/attack is not available")
def test_regenerating_gives_the_committed_catalog(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "697 active techniques" in done.stdout
    for name in ("enterprise-attack-19.1.json", "LICENSE.txt", "LICENSE-18.1.txt"):
        assert (tmp_path / name).read_bytes() == (CATALOG / name).read_bytes(), name


@pytest.mark.parametrize(
    ("channel", "syscalls"),
    [
        ("execve", ["execve"]),
        ("open, write: Modification of /boot/grub/* or /boot/efi/*", ["open", "write"]),
        ("socket/connect syscalls", ["socket", "connect"]),
        ("AUDIT_SYSCALL (open, write, rename, unlink)", ["open", "write", "rename", "unlink"]),
        ("High frequency of accept(), read(), or SSL_read() syscalls", ["accept", "read"]),
        ("kill syscalls targeting auditd process", ["kill"]),
        ("Execution of auditctl, systemctl stop auditd, or kill -9 auditd", []),
        ("execve: service stop syslog, systemctl stop rsyslog, kill -9 syslog", ["execve"]),
        ("command-line patterns for utilities (uname, hostname, ifconfig, ps, mount)", []),
        ("Reads of ~/.bash_history, ~/.mozilla, or access to /dev/input", []),
        ("/proc/*/mem read attempt", []),
        ("None", []),
    ],
)
def test_syscalls_named_in_channel_text(channel: str, syscalls: list[str]) -> None:
    assert catalog_script().syscalls_named(channel) == syscalls


def test_record_types_named() -> None:
    script = catalog_script()
    known = frozenset({"SYSCALL", "EXECVE", "PATH", "USER_LOGIN", "USER_AUTH"})
    assert script.record_types_named("auditd:SYSCALL", "PATH", known) == ["SYSCALL", "PATH"]
    assert script.record_types_named("auditd:SYSCALL", "AUDIT_SYSCALL (open)", known) == ["SYSCALL"]
    assert script.record_types_named("auditd:USER_LOGIN", "USER_AUTH", known) == [
        "USER_LOGIN",
        "USER_AUTH",
    ]
    assert script.record_types_named("auditd:FILE", "LD_PRELOAD Logging", known) == []
