"""A match becomes an alert (detect.core.alert): the rule's part, computed once per rule (event
kind and severity, rule, tags, ATT&CK techniques and tactics from the catalog, level), the
matched event in full (`detect.events`: host, serial, @timestamp, interpreted fields and every
raw record, with the view that matched), and with a process tree the process's ancestry
(`detect.ancestry`: oldest first, each with pid, executable, command line, user and start)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, Protocol

from detect.attack.catalog import Catalog
from detect.attack.tags import resolve_tags, threat_fields
from detect.auditd import export, interpret
from detect.auditd.event import AuditEvent
from detect.core.alert import SEVERITY, Activity, Alert, Document, Pending, RuleInfo
from detect.core.ecs import nest
from detect.core.errors import Location
from detect.matching.chains import CHAIN_KEY
from detect.matching.engine import Match
from detect.proctree.fields import ancestry
from detect.sigma.model import Rule

DEFAULT_LEVEL = "medium"


class Described(Protocol):
    """What an alert says of the rule (or correlation) that raised it."""

    title: str
    level: str | None
    description: str
    references: tuple[str, ...]
    tags: tuple[str, ...]
    source: Location


def rule_info(
    rule_id: str | None, key: str, rule: Described, catalog: Catalog | None, kind: str = "rule"
) -> RuleInfo:
    """The per-rule part of an alert: event kind and severity, rule, tags, threat, level.
    `rule_id` is the document's `rule.id`; the rule is counted under its id, else `key`."""
    level = rule.level or DEFAULT_LEVEL
    fields: dict[str, Any] = {
        "event": {
            "kind": "alert",
            "module": "auditd",
            "severity": SEVERITY.get(level, SEVERITY[DEFAULT_LEVEL]),
        },
        "rule": {
            "id": rule_id,
            "name": rule.title,
            "description": rule.description,
            "reference": list(rule.references),
        },
        "tags": list(rule.tags),
    }
    fields.update(nest(threat_fields(resolve_tags(rule.tags, catalog), catalog)))
    fields["detect"] = {"level": level, "rule_source": str(rule.source)}
    techniques = technique_ids(fields)
    tactics = tuple(fields.get("threat", {}).get("tactic", {}).get("id", ()))
    source = str(rule.source)
    return RuleInfo(rule_id or key, rule.title, level, source, techniques, fields, tactics, kind)


def technique_ids(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """Sub-techniques, and the techniques named without one, of a rule's alert fields."""
    technique = fields.get("threat", {}).get("technique", {})
    subs = technique.get("subtechnique", {}).get("id", [])
    parents_with_subs = {sub.split(".")[0] for sub in subs}
    return (*subs, *(t for t in technique.get("id", []) if t not in parents_with_subs))


def event_document(event: AuditEvent, view: str) -> Document:
    """The event as an alert carries it, with the view that matched it."""
    detected = export.event_to_dict(event)
    detected["view"] = view
    return detected


def _documents(event: AuditEvent, view: str) -> list[Document]:
    return [event_document(event, view)]


def _head(event: AuditEvent) -> Document:
    """What identifies the event, as `event_document` gives it (`export.event_to_dict`)."""
    return {"host": event.node, "@timestamp": event.timestamp, "serial": event.serial}


def activity_of(event: AuditEvent, chain: list[Document] | None) -> Activity:
    """The login session, user and process of the event (its SYSCALL record's, else those of
    its first record that names a login uid), the process's command line and its parent's
    executable from the ancestry when the tree knows them."""
    source = event.first("SYSCALL")
    if source is None:
        source = next((r for r in event.records if "auid" in r.fields), event.records[0])
    fields = source.fields
    login = fields.get("auid")
    if login in (None, interpret.UNSET_ID):
        login = session = None
    else:
        session = fields.get("ses")
        session = None if session == interpret.UNSET_ID else session
    uid = fields.get("uid")
    own = chain[-1] if chain else {}
    parent = chain[-2] if chain and len(chain) > 1 else {}
    argv = interpret.execve_argv(event)
    command = " ".join(argv) if argv else own.get("command_line")
    return Activity(
        session,
        login,
        None if uid is None else interpret.id_name(uid),
        own.get("executable") or fields.get("exe"),
        command,
        parent.get("executable"),
    )


class AlertBuilder:
    """Builds the alert of a match; the per-rule part is computed once per rule."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog
        self._rules: dict[int, RuleInfo] = {}

    def __call__(self, match: Match) -> Alert:
        event = match.event
        process = event.process
        chain = None if process is None else ancestry(process)
        return Alert(
            self.rule_part(match.rule),
            event.time_ms,
            event.node,
            Pending(partial(_documents, event, match.view), [_head(event)]),
            ancestry=chain,
            activity=activity_of(event, chain),
        )

    def rule_part(self, rule: Rule) -> RuleInfo:
        found = self._rules.get(id(rule))
        if found is None:
            kind = "chain" if CHAIN_KEY in rule.attributes else "rule"
            found = rule_info(rule.id, rule.id, rule, self.catalog, kind)
            self._rules[id(rule)] = found
        return found
