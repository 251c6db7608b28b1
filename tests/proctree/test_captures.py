"""Must-show 1: the tree fields on real captures of this machine's kernel.

Captures: scripts/capture/proctree/*.sh -> tests/proctree/captures/*.log (provenance beside
each). Every scenario runs under the capture harness (a Python process started before the log
began), so the scenario's own bash always has a parent known only as its `ppid`.
"""

from __future__ import annotations

from detect.auditd import interpret
from detect.auditd.event import AuditEvent
from detect.proctree.fields import tree_fields
from detect.proctree.process import EXECVE, FORK
from detect.proctree.tree import ProcessTree
from detect.views.category import category_views
from detect.views.record import RecordView, record_views, syscall_context
from tests.capture_events import capture_events_at

W = "/tmp/detect-capture"


def observed(name: str) -> tuple[ProcessTree, list[AuditEvent]]:
    tree = ProcessTree()
    events = capture_events_at(f"tests/proctree/captures/{name}")
    for event in events:
        tree.observe(event)
    return tree, events


def execs(events: list[AuditEvent], command: str) -> list[AuditEvent]:
    found = [e for e in events if " ".join(interpret.execve_argv(e) or ()) == command]
    assert found, command
    return found


def fields_of(event: AuditEvent) -> dict[str, object]:
    return category_views(event)["process_creation"]


def test_shell_started_by_a_web_server() -> None:
    _, events = observed("web_shell")
    (cgi,) = execs(events, f"/bin/bash {W}/www/cgi-bin/x.sh ")
    view = fields_of(cgi)
    assert view["process.parent.executable"] == "/usr/bin/python3.11"
    assert view["process.parent.command_line"] == (
        "python3 -m http.server --cgi --bind 127.0.0.1 18931"
    )
    assert view["process.parent.user.name"] == "root"
    assert view["process.grandparent.executable"] == "/usr/bin/bash"
    assert view["process.labels"] == ["web"]
    (uid,) = execs(events, "id")[:1]
    below = fields_of(uid)
    assert below["process.parent.user.id"] == "65534"  # the CGI runs as nobody
    assert below["process.ancestors.executable"] == [
        "/usr/bin/bash",
        "/usr/bin/python3.11",
        "/usr/bin/bash",
    ]
    assert below["process.labels"] == ["web"]


def test_shell_started_by_a_process_named_nginx() -> None:
    _, events = observed("web_shell")
    shells = execs(events, "sh -c id")
    nginx, plain = (fields_of(e) for e in shells)
    assert nginx["process.parent.executable"] == f"{W}/srv/nginx"
    assert nginx["process.labels"] == ["web"]
    assert plain["process.parent.executable"] == "/usr/bin/bash"
    assert "process.labels" not in plain


def test_a_chain_of_six_levels() -> None:
    _, events = observed("chain")
    (deepest,) = execs(events, "/usr/bin/id")
    view = fields_of(deepest)
    assert view["process.tree.depth"] == 7  # five level scripts, the scenario, the harness
    assert view["process.parent.command_line"] == f"/bin/bash {W}/chain/l5.sh"
    lines = view["process.ancestors.command_line"]
    assert lines == [
        *(f"/bin/bash {W}/chain/l{level}.sh" for level in (5, 4, 3, 2, 1)),
        "/bin/bash /work/main/scripts/capture/proctree/chain.sh",
    ]
    assert view["process.grandparent.executable"] == "/usr/bin/bash"


def test_pid_reuse_makes_two_processes() -> None:
    tree, events = observed("pid_reuse")
    (first,) = execs(events, "/usr/bin/true")
    (second,) = execs(events, "/usr/bin/id")
    assert first.process.pid == second.process.pid
    assert first.process is not second.process
    assert first.process.key != second.process.key
    assert first.process.exit_ms is not None
    assert [i.path for i in second.process.images] == ["/usr/bin/bash", "/usr/bin/id"]
    assert tree.stats.reused == 1
    assert fields_of(second)["process.parent.command_line"] == (
        "/bin/bash /work/main/scripts/capture/proctree/pid_reuse.sh"
    )


def test_exec_after_exec_in_one_process() -> None:
    _, events = observed("exec_chain")
    (last,) = execs(events, "/usr/bin/id")
    process = last.process
    assert [(i.path, i.how) for i in process.images] == [
        ("/usr/bin/bash", FORK),
        ("/usr/bin/bash", EXECVE),
        ("/usr/bin/env", EXECVE),
        ("/usr/bin/id", EXECVE),
    ]
    assert process.command_line == "/usr/bin/id"
    assert process.images[1].command_line == "/bin/bash -c exec /usr/bin/env /usr/bin/id"
    assert fields_of(last)["process.parent.executable"] == "/usr/bin/bash"


def test_parent_started_before_the_log_began() -> None:
    tree, events = observed("exec_chain")
    script = events[0]
    assert interpret.execve_argv(script) == [
        "/bin/bash",
        "/work/main/scripts/capture/proctree/exec_chain.sh",
    ]
    harness = script.process.parent
    assert harness is not None and harness.placeholder and harness.executable is None
    assert tree.stats.placeholders == 1
    view = fields_of(script)
    assert view["process.tree.depth"] == 1
    for absent in ("process.parent.executable", "process.parent.command_line", "process.labels"):
        assert absent not in view
    child = fields_of(execs(events, "/usr/bin/id")[0])
    assert child["process.tree.depth"] == 2
    assert "process.grandparent.executable" not in child  # the harness has no image


def test_record_views_carry_the_tree_fields() -> None:
    _, events = observed("web_shell")
    (cgi,) = execs(events, f"/bin/bash {W}/www/cgi-bin/x.sh ")
    execve = cgi.first("EXECVE")
    assert execve is not None
    view = RecordView(execve, syscall_context(cgi), interpret.execve_argv(cgi), cgi.process)
    assert view.get("ParentImage") == "/usr/bin/python3.11"
    assert view.get("ProcessLabels") == ["web"]
    assert view.get("ProcessTreeDepth") == 3
    assert "python3 -m http.server --cgi --bind 127.0.0.1 18931" not in list(view.values())
    whole = dict(view)
    assert whole["AncestorImages"] == ["/usr/bin/python3.11", "/usr/bin/bash"]
    listed = record_views(cgi)
    assert all(v["ParentImage"] == "/usr/bin/python3.11" for v in listed)
    assert tree_fields(cgi.process)["ParentUser"] == "root"
