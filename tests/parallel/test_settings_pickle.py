"""Pipeline settings travel to worker processes (--jobs) and Dask workers by pickle: they come
back equal, the compiled (mypyc) classes among them (a frozen compiled dataclass does not
unpickle by default: `detect.auditd.reassemble.Limits.__reduce__`)."""

from __future__ import annotations

import pickle

from detect.auditd.reassemble import Limits
from detect.pipeline.factory import PipelineSettings
from detect.sigma.correlation.window import Limits as CorrelationLimits


def test_settings_with_every_bound_set_survive_pickling() -> None:
    settings = PipelineSettings(
        limits=Limits(max_inflight=3, max_records=5, max_nodes=7, node_idle_ms=11),
        max_processes=13,
        process_idle_ms=17,
        correlation_limits=CorrelationLimits(max_groups=19),
        host="alpha",
    )
    again = pickle.loads(pickle.dumps(settings))
    assert again == settings
    assert again.limits.max_records == 5 and again.limits.node_idle_ms == 11
