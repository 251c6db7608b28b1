"""bench.instructions: a stage's marginal cost per line, counted by callgrind, so that two
counts of one build agree where two timings on a shared machine do not."""

from __future__ import annotations

import os
from pathlib import Path

from bench import instructions
from bench.instructions import annotated, count, measure, prefixes, totals
from detect.core import native

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# as callgrind_annotate --inclusive=yes prints its function table (paths shortened)
TABLE = """\
--------------------------------------------------------------------------------
Ir                     file:function
--------------------------------------------------------------------------------
2,138,723,515 (45.02%)  build/mypyc/detect/__native_hotpath.c:CPyPy_reassemble___Reassembler___feed [detect/hotpath.so]
2,138,723,466 (45.02%)  build/mypyc/detect/__native_hotpath.c:CPyDef_reassemble___Reassembler___feed [detect/hotpath.so]
  215,201,103 ( 4.53%)  build/mypyc/detect/__native_hotpath.c:CPyDef_auditd___record___read_header [detect/hotpath.so]
      5,000 ( 0.00%)  include/python3.11/object.h:CPyDef_auditd___record___read_header (3x) [detect/hotpath.so]
  184,575,974 ( 3.89%)  Objects/dictobject.c:_Py_dict_lookup [libpython3.11.so.1.0]
   37,217,682 ( 0.59%)  < Include/internal/pycore_call.h:PyObject_VectorcallMethod (1,562x)
"""  # noqa: E501


def test_the_table_gives_the_compiled_functions_once_each() -> None:
    assert annotated(TABLE) == {
        "CPyDef_reassemble___Reassembler___feed": 2_138_723_466,
        "CPyDef_auditd___record___read_header": 215_201_103,
    }


def test_totals_are_read_from_callgrinds_output() -> None:
    assert totals(b"events: Ir\nsummary: 4750927544\ntotals: 4750927544\n") == 4_750_927_544


def test_a_stage_costs_the_same_per_line_each_time_it_is_counted(tmp_path: Path) -> None:
    corpus = tmp_path / "examples.log"
    corpus.write_bytes(b"".join(path.read_bytes() for path in sorted(EXAMPLES.glob("*.log"))))
    lines = 150
    corpora = prefixes(corpus, lines, tmp_path)
    assert [len(path.read_bytes().splitlines()) for path in corpora] == [lines, 2 * lines]
    counted = measure("read", corpora, lines, top=3)
    assert 0 < counted.small < counted.large
    assert counted.per_line > 100  # reading a line is hundreds of instructions, not none
    again = count("read", corpora[0], tmp_path / "again.out", tmp_path)
    # the same to a few hundredths of a percent (start-up varies by some 60,000 instructions
    # of ~440 million: paths of other lengths): at 50,000 lines, about one per line
    assert abs(again - counted.small) < 5e-4 * counted.small
    # the worker runs compiled code unless DETECT_PURE=1 (bench.run.run_worker); a pure run's
    # functions are inside the interpreter's loop
    if native.status().compiled and os.environ.get(native.PURE_ENV) != "1":
        assert any(name.startswith("CPyDef_lines___") for name in counted.functions)
    else:
        assert counted.functions == {}
    assert instructions.report(counted, 3).startswith(f"read: {counted.per_line:,.0f} instr")
