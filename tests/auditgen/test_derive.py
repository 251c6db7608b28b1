"""Derivation: what each detection needs audited, from its condition."""

from __future__ import annotations

from pathlib import Path

import pytest

from detect.auditgen.derive import HOME_SCOPE, Derivation, Filter, Need, derive, load_table
from detect.auditgen.terms import EQ, PREFIX, Atom, condition_terms
from detect.sigma.load import load_detections
from detect.sigma.model import Rule

RULE = """\
title: {title}
id: 6b0c64a4-8f57-4c39-9b43-2b7f3e0c1a{n:02d}
status: test
logsource:
    product: linux
{logsource}
detection:
{detection}
level: low
"""


@pytest.fixture(scope="module")
def shipped() -> dict[str, Rule]:
    return {Path(r.source.source).stem: r for r in load_detections().rules}


def needs(found: Derivation) -> set[str]:
    return {need.describe() for need in found.needs}


def made(tmp_path: Path, logsource: str, detection: str, n: int = 1) -> Rule:
    path = tmp_path / f"rule{n}.yml"
    path.write_text(RULE.format(title=f"t{n}", n=n, logsource=logsource, detection=detection))
    loaded = load_detections([path], default=False)
    assert loaded.errors == []
    return loaded.rules[0]


def test_terms_keep_literal_case_and_negations(shipped) -> None:
    terms = condition_terms(shipped["root_program_by_logged_in_user"].sigma)
    assert len(terms) == 2
    first = terms[0]
    assert Atom("euid", EQ, "0") in first and Atom("type", EQ, "SYSCALL") in first
    assert Atom("AUID", EQ, "unset", negated=True) in first
    key = condition_terms(shipped["private_key_read"].sigma)
    assert any(Atom("file.path", PREFIX, "/etc/ssh/ssh_host_") in term for term in key)


def test_syscall_record_with_ids_and_login(shipped) -> None:
    found = derive(shipped["root_program_by_logged_in_user"])
    assert needs(found) == {"execve auid!=unset euid=0", "execveat auid!=unset euid=0"}
    assert not found.unbounded


def test_exit_values_split_into_needs(shipped) -> None:
    found = needs(derive(shipped["file_access_denied"]))
    assert "openat exit=-13" in found and "openat exit=-1" in found and len(found) == 14


def test_user_space_records_need_no_exit_rule(shipped) -> None:
    found = derive(shipped["authentication_failed"])
    assert found.needs == [] and found.view == "auditd"
    assert "USER_AUTH: written without exit rules" in found.notes
    mixed = derive(shipped["local_account_created"])
    assert needs(mixed) == {"execve,execveat"}  # the EXECVE branch; ADD_USER needs nothing


def test_record_types_map_to_their_syscalls(shipped) -> None:
    found = needs(derive(shipped["system_time_changed"]))
    assert "adjtimex,clock_adjtime,clock_adjtime64,settimeofday" in found  # TIME_INJOFFSET
    assert "clock_settime" in found and "adjtimex exit=-1" in found


def test_path_literals_become_path_and_dir(shipped) -> None:
    found = derive(shipped["root_reads_user_home"])
    assert Need(frozenset({"openat"}), (Filter("dir", "=", "/home"), Filter("euid", "=", "0"))) in (
        found.needs
    )
    sudoers = needs(derive(shipped["sudoers_modified"]))
    assert "open_by_handle_at,openat a2&0x243 path=/etc/sudoers" in sudoers
    assert "open a1&0x243 dir=/etc/sudoers.d" in sudoers
    assert any(
        n.startswith("creat,link,linkat,mkdir") and "path=/etc/sudoers" in n for n in sudoers
    )


def test_wildcard_prefix_gives_its_directory(shipped) -> None:
    found = needs(derive(shipped["private_key_read"]))
    assert "open,open_by_handle_at,openat,openat2 dir=/etc/ssh" in found  # ssh_host_*_key
    assert not any("creat" in need for need in found)  # creat always writes: no file_access


def test_unbounded_paths_scoped_or_left_out(shipped) -> None:
    rule = shipped["ssh_authorized_keys_modified"]
    scoped = derive(rule, load_table(), HOME_SCOPE)
    assert {f.value for n in scoped.needs for f in n.filters if f.field == "dir"} == {
        "/home",
        "/root",
    }
    assert not scoped.unbounded and "assumed under /home, /root" in scoped.notes[0]
    left = derive(rule)
    assert left.needs == [] and left.underivable
    assert "--unbounded-paths /home,/root" in left.unbounded[0]


def test_network_connections_are_inet_only(shipped) -> None:
    found = needs(derive(shipped["shell_network_connection"]))
    assert "accept,accept4,connect saddr_fam!=1 exe=.../bash" in found  # not AF_UNIX, one rule
    assert len(found) == 13  # one program name per need: generate narrows them on a host


def test_initiated_keeps_the_connecting_syscalls(shipped) -> None:
    assert needs(derive(shipped["port_scan"])) == {"connect saddr_fam!=1"}


def test_anchored_literal_regex_of_a_syscall_argument_is_a_filter(tmp_path: Path) -> None:
    detection = (
        "    selection:\n        type: SYSCALL\n        SYSCALL: socket\n"
        "        a0|re: '^11$'\n    condition: selection"
    )
    assert needs(derive(made(tmp_path, "    service: auditd", detection))) == {"socket a0=0x11"}
    execve = detection.replace("SYSCALL\n        SYSCALL: socket", "EXECVE")
    found = derive(made(tmp_path, "    service: auditd", execve, 2))
    assert needs(found) == {"execve,execveat"}  # EXECVE's a0 is argv[0], not the call's a0


def test_keyword_rule_cannot_be_derived_and_says_why(tmp_path: Path) -> None:
    rule = made(
        tmp_path, "    service: auditd", "    keywords:\n        - evil\n    condition: keywords"
    )
    found = derive(rule)
    assert found.needs == [] and found.underivable
    assert found.unbounded == ["a term names nothing an audit rule can select (keywords)"]


def test_category_syscall_and_exe_narrow(tmp_path: Path) -> None:
    detection = (
        "    selection:\n        Image: /usr/bin/Evil\n        Syscall: openat\n"
        "        TargetFilename|startswith: /srv/data/\n    condition: selection"
    )
    found = derive(made(tmp_path, "    category: file_access", detection, 2))
    assert needs(found) == {"openat dir=/srv/data exe=/usr/bin/Evil"}  # case kept as written


def test_not_applicable_logsource(tmp_path: Path) -> None:
    rule = made(tmp_path, "    service: sshd", "    sel:\n        a: b\n    condition: sel", 3)
    found = derive(rule)
    assert found.view is None and found.needs == []
    assert found.notes == ["its logsource is not produced from audit logs"]


def test_every_shipped_detection_derives(shipped) -> None:
    table = load_table()
    assert table.tree_syscalls(False) == frozenset({"execve", "execveat"})
    for name, rule in shipped.items():
        found = derive(rule, table)
        assert found.view is not None, name
        assert found.needs or found.notes or found.unbounded, name


def test_a_regex_of_direct_entries_names_their_folders() -> None:
    from detect.auditgen.terms import entry_dirs

    regex = r"^/(tmp|var/tmp|dev/shm)/\.[^/]+$"
    assert entry_dirs(regex) == ("/dev/shm", "/tmp", "/var/tmp")
    assert entry_dirs(r"^/etc/cron\.d/[^/]+$") == ("/etc/cron.d",)
    assert entry_dirs(r"^/tmp/.*$") is None  # any depth
    assert entry_dirs(r"/tmp/[^/]+$") is None  # not anchored
    assert entry_dirs(r"^(/tmp|tmp)/[^/]+$") is None  # a relative alternative


def test_files_created_directly_in_a_folder_use_the_folders_inode(shipped) -> None:
    found = derive(shipped["hidden_file_in_temp_dir"])
    paths = {f.value for need in found.needs for f in need.filters if f.field == "path"}
    assert paths == {"/tmp", "/var/tmp", "/dev/shm"} and all(n.entries for n in found.needs)
    assert any("a write to an entry that exists already" in note for note in found.notes)
