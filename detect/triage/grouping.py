"""Which incident an alert belongs to (DESIGN §12): per host, the audit login session for
interactive work (`ses` with the login uid set); for processes outside any login, the process
subtree under the service that started them.

The subtree: walking the alert's ancestry from the oldest, the last *boundary* (init/systemd,
the ssh, cron and at daemons, the container daemons) ends the search; the process right below it
(the first whose executable the tree knows) is the service's main process. Its workers
(descendants running the same executable) belong to the service; the first process below them
that runs another executable is the *branch*: a service's children that run the same program
(the shells a web shell spawns, one per command) are one incident, its unrelated children (a
backup job and a log rotation under one daemon) are not. Two sessions never share a key;
nothing is merged across hosts.
"""

from __future__ import annotations

import posixpath
from typing import Any, Final

from detect.core.alert import Alert

# Processes that start others on behalf of many unrelated activities: an incident never spans
# one of them (their names as the kernel's exe path ends).
BOUNDARIES: Final = frozenset(
    (
        "init",
        "systemd",
        "sshd",
        "sshd-session",
        "cron",
        "crond",
        "anacron",
        "atd",
        "containerd",
        "containerd-shim",
        "containerd-shim-runc-v2",
        "dockerd",
        "runc",
        "crun",
        "conmon",
        "crio",
    )
)
IncidentKey = tuple[str | None, str, str, str, str]  # host, kind, and three parts


def is_boundary(process: dict[str, Any]) -> bool:
    if process.get("pid") == 1:
        return True
    executable = process.get("executable")
    return executable is not None and posixpath.basename(executable) in BOUNDARIES


def service_of(chain: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The service's main process and the branch below it (None: the alert is the service's
    own, or one of its workers') in an ancestry, oldest first."""
    last = max((i for i, process in enumerate(chain) if is_boundary(process)), default=-1)
    below = chain[last + 1 :] or chain[-1:]
    while len(below) > 1 and below[0].get("executable") is None:
        below = below[1:]  # a parent known only from a ppid: the tree cannot say what it ran
    service = below[0]
    for process in below[1:]:
        if process.get("executable") != service.get("executable"):
            return service, process
    return service, None


def incident_key(alert: Alert) -> IncidentKey:
    """The key of the incident `alert` belongs to (see the module's doc)."""
    activity = alert.activity
    if activity.session is not None:
        return (alert.host, "session", activity.session, activity.login or "", "")
    chain = alert.ancestry
    if not chain:
        return (alert.host, "process", activity.executable or "?", activity.user or "?", "")
    service, branch = service_of(chain)
    where = node_id(service)
    program = "" if branch is None else branch.get("executable") or "?"
    return (alert.host, "service", where, service.get("executable") or "?", program)


def node_id(process: dict[str, Any]) -> str:
    """A process in an incident's tree: its `entity_id` (detect.proctree.fields.describe
    gives every process of an ancestry one: one process, not a reused PID)."""
    return str(process["entity_id"])
