"""The built-in ATT&CK catalog: counts, matrix order, replacements, lookups, strict loading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from detect.attack.catalog import (
    CATALOG_DIR,
    CATALOG_FILE,
    Catalog,
    CatalogError,
    load_catalog,
    read_catalog,
)

MATRIX_ORDER = [
    ("TA0043", "reconnaissance", "Reconnaissance"),
    ("TA0042", "resource-development", "Resource Development"),
    ("TA0001", "initial-access", "Initial Access"),
    ("TA0002", "execution", "Execution"),
    ("TA0003", "persistence", "Persistence"),
    ("TA0004", "privilege-escalation", "Privilege Escalation"),
    ("TA0005", "stealth", "Stealth"),
    ("TA0112", "defense-impairment", "Defense Impairment"),
    ("TA0006", "credential-access", "Credential Access"),
    ("TA0007", "discovery", "Discovery"),
    ("TA0008", "lateral-movement", "Lateral Movement"),
    ("TA0009", "collection", "Collection"),
    ("TA0011", "command-and-control", "Command and Control"),
    ("TA0010", "exfiltration", "Exfiltration"),
    ("TA0040", "impact", "Impact"),
]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CATALOG_DIR / CATALOG_FILE).read_text(encoding="utf-8"))
    return data


def test_version_and_notice(catalog: Catalog) -> None:
    assert (catalog.version, catalog.legacy_version, catalog.domain) == (
        "19.1",
        "18.1",
        "enterprise-attack",
    )
    assert catalog.header["bundle"]["sha256"].startswith("3ce80e3f")
    assert "68d2992ea01249fc72e966f569a0d0b663d98581" in catalog.header["source"]
    assert any(n.startswith("© 2026 The MITRE Corporation") for n in catalog.notices)
    assert (CATALOG_DIR / "LICENSE.txt").is_file()


def test_active_technique_counts(catalog: Catalog) -> None:
    active = catalog.active_techniques()
    assert len(active) == 697
    assert sum(1 for t in active if t.is_subtechnique) == 475
    statuses = [t.status for t in catalog.techniques.values()]
    assert (statuses.count("revoked"), statuses.count("deprecated")) == (149, 12)


def test_tactics_in_matrix_order(catalog: Catalog) -> None:
    got = [(t.id, t.short_name, t.name) for t in catalog.tactics_in_order()]
    assert got == MATRIX_ORDER
    assert [t.order for t in catalog.tactics] == list(range(15))


@pytest.mark.parametrize(
    ("revoked", "replacement"),
    [
        ("T1562.012", "T1685.004"),
        ("T1070.002", "T1685.006"),
        ("t1562", "T1685"),
        ("T1150", "T1647"),  # two steps: T1150 -> T1547.011 -> T1647
        ("T1073", "T1574.001"),  # two steps: T1073 -> T1574.002 -> T1574.001
    ],
)
def test_revoked_ids_resolve_to_active_replacement(
    catalog: Catalog, revoked: str, replacement: str
) -> None:
    technique = catalog.replacement(revoked)
    assert technique is not None
    assert technique.id == replacement
    assert technique.is_active


def test_replacement_only_for_revoked(catalog: Catalog) -> None:
    assert catalog.replacement("T1059.004") is None
    assert catalog.replacement("T9999") is None
    deprecated = catalog.technique("T1064")
    assert deprecated is not None
    assert (deprecated.status, deprecated.replaced_by) == ("deprecated", ("T1059",))


def test_technique_lookup_is_case_insensitive(catalog: Catalog) -> None:
    technique = catalog.technique(" t1059.004 ")
    assert technique is not None
    assert (technique.id, technique.name, technique.parent) == ("T1059.004", "Unix Shell", "T1059")
    assert technique.tactics == ("TA0002",)
    assert "Linux" in technique.platforms
    assert technique.url == "https://attack.mitre.org/techniques/T1059/004"


@pytest.mark.parametrize(
    "key", ["TA0005", "ta0005", "stealth", "STEALTH", "defense-evasion", "defense_evasion"]
)
def test_tactic_lookup_spellings(catalog: Catalog, key: str) -> None:
    tactic = catalog.tactic(key)
    assert tactic is not None
    assert (tactic.id, tactic.name) == ("TA0005", "Stealth")


def test_legacy_tactic_names(catalog: Catalog) -> None:
    assert dict(catalog.tactic_aliases) == {"defense-evasion": "TA0005"}
    assert catalog.legacy_short_name("TA0005") == "defense-evasion"
    assert catalog.legacy_short_name("TA0002") == "execution"
    moved = catalog.technique("T1222.002")
    assert moved is not None
    assert (moved.tactics, moved.legacy_tactics) == (("TA0112",), ("TA0005",))
    new = catalog.technique("T1685.004")
    assert new is not None and new.legacy_tactics is None


def test_linux_techniques_carry_auditd_channels(catalog: Catalog) -> None:
    linux = catalog.linux_auditd_techniques()
    assert len(linux) == 348
    assert all(t.is_active and "Linux" in t.platforms and t.auditd for t in linux)
    channels = [c for t in linux for c in t.auditd]
    assert all(c.source.startswith("auditd:") for c in channels)
    shell = catalog.technique("T1059.004")
    assert shell is not None
    assert [(c.source, c.channel, c.syscalls) for c in shell.auditd] == [
        ("auditd:SYSCALL", "execve", ("execve",))
    ]


def test_loading_is_cached_and_lazy() -> None:
    assert load_catalog() is load_catalog()
    code = (
        "import detect.attack.coverage, detect.attack.layer, detect.attack.catalog as c; "
        "print(c._builtin_catalog.cache_info().currsize)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


def test_bad_file_names_where(tmp_path: Path, raw: dict[str, Any]) -> None:
    raw["techniques"]["T1059.004"]["tactics"] = ["TA9999"]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        read_catalog(path)
    assert caught.value == CatalogError(
        "unknown tactics ['TA9999']", str(path), "/techniques/T1059.004"
    )


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (lambda d: d.pop("tactics"), "/", "missing key 'tactics'"),
        (lambda d: d.update(format=2), "/format", "unsupported format, expected 1"),
        (
            lambda d: d["techniques"]["T1059"].update(name=""),
            "/techniques/T1059/name",
            "expected a non-empty string",
        ),
        (
            lambda d: d["techniques"]["T1562.012"].pop("replaced_by"),
            "/techniques/T1562.012",
            "a revoked technique needs revoked_by and exactly one replacement",
        ),
        (
            lambda d: d["tactics"][6].update(id="X5"),
            "/tactics/6/id",
            "'X5' does not match TA\\d{4}",
        ),
    ],
)
def test_validation_errors(raw: dict[str, Any], change: Any, where: str, message: str) -> None:
    change(raw)
    with pytest.raises(CatalogError) as caught:
        Catalog.from_dict(raw, source="test.json")
    assert (caught.value.source, caught.value.where, caught.value.message) == (
        "test.json",
        where,
        message,
    )


def test_invalid_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": 1,\n  oops}', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken\.json:2:3: invalid JSON"):
        read_catalog(path)
