"""The report in a real browser: Debian's headless Chromium (`make test` installs it; skipped
with the reason where it is missing or cannot start). The screenshot stays under the test's
tmp_path (pytest prints where), never committed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.report.browser import Browser, find_chromium
from tests.report.conftest import Scanned

MAX_FILTER_MS = 200
MAX_BYTES = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium: apt-get install chromium (make test installs it)")
    try:
        opened = Browser(executable)
    except (OSError, RuntimeError) as error:
        pytest.skip(f"chromium cannot start here: {error}")
    yield opened
    opened.close()


def incident_ids(path: Path) -> list[str]:
    return [json.loads(line)["detect"]["incident"]["id"] for line in path.read_text().splitlines()]


def test_the_report_renders_in_chromium_without_errors_or_network(
    browser: Browser, host_day: Scanned, tmp_path: Path
) -> None:
    browser.open(host_day.html.as_uri())
    shot = tmp_path / "host_day.png"
    browser.screenshot(shot)
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    assert browser.errors == []
    assert browser.requests == [host_day.html.as_uri()]  # the page itself, nothing more
    assert browser.evaluate("document.documentElement.dataset.ready") == "true"
    ids = incident_ids(host_day.incidents)
    shown = browser.evaluate(
        "Array.from(document.querySelectorAll('article.incident')).map(e => e.dataset.incident)"
    )
    assert sorted(shown) == sorted(ids)
    alerts = len(host_day.alerts.read_text().splitlines())
    counts = browser.evaluate(
        """({
        bars: document.querySelectorAll('#timeline-chart svg rect.incident').length,
        marks: document.querySelectorAll('#timeline-chart svg circle.alert').length,
        axis: document.querySelectorAll('#timeline-chart svg .tick').length,
        cells: document.querySelectorAll('table.matrix .cell').length,
        trees: document.querySelectorAll('.tree-picture svg').length,
        processes: document.querySelectorAll('.tree-picture svg g.process').length,
        alerted: document.querySelectorAll('.tree-picture svg circle[class^=level-]').length,
        filters: !document.getElementById('filters').hidden,
        status: document.getElementById('filter-status').value,
        })"""
    )
    assert counts["bars"] == len(ids) and counts["marks"] == alerts and counts["axis"] > 2
    assert counts["cells"] >= 10  # the capture's techniques, under their tactics
    assert counts["trees"] == len(ids) and counts["processes"] > counts["trees"]
    assert counts["alerted"] >= len(ids)  # every incident marks the processes that alerted
    assert (
        counts["filters"]
        and counts["status"] == f"6 of 6 incidents, {alerts} of {alerts} alerts shown"
    )
    # a link to an incident lands on it
    browser.evaluate(f"location.hash = 'incident-{ids[0]}'")
    assert browser.evaluate("document.querySelector(':target').dataset.incident") == ids[0]
    assert browser.errors == []


def test_filters_over_dozens_of_incidents_apply_within_200_ms(
    browser: Browser, busy: Scanned
) -> None:
    assert busy.html.stat().st_size < MAX_BYTES
    incidents = [json.loads(line) for line in busy.incidents.read_text().splitlines()]
    assert len(incidents) >= 24  # dozens
    levels = Counter(document["detect"]["level"] for document in incidents)
    browser.open(busy.html.as_uri())
    assert browser.errors == []
    cases = [
        ("host", "host-03", len(incidents) // 8),
        ("level", "critical", levels["critical"]),
        ("tactic", "Persistence", None),
        ("text", "python3", None),
    ]
    for control, value, expected in cases:
        result = browser.evaluate(
            f"""(() => {{
            const c = window.detectReport.controls;
            Object.values(c).forEach(e => {{ e.value = ''; }});
            const t0 = performance.now();
            c.{control}.value = {json.dumps(value)};
            c.{control}.dispatchEvent(new Event('{"input" if control == "text" else "change"}',
                                                 {{bubbles: true}}));
            const ms = performance.now() - t0;
            const shown = Array.from(document.querySelectorAll('article.incident'))
                .filter(e => !e.hidden);
            return {{ms, shown: shown.length,
                     hosts: [...new Set(shown.map(e => e.dataset.host))],
                     levels: [...new Set(shown.map(e => e.dataset.level))]}};
            }})()"""
        )
        assert result["ms"] < MAX_FILTER_MS, (control, result["ms"])
        assert 0 < result["shown"] < len(incidents), (control, result)
        if expected is not None:
            assert result["shown"] == expected, (control, result)
    assert browser.errors == []
