"""A smoke run of sendpro's own fuzz harness (``make fuzz`` runs 100,000 cases; this runs a few hundred).

Every case's promises are checked (see ``tests/fuzzing/harness.py``); the test fails on any
broken promise whose class is not in ``harness.KNOWN_FAILURES`` (the classes being fixed now).
The other tests check that the harness itself sees a broken promise, so a green run means
something.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from tests.fuzzing import harness

SEED = 12
CASES = 300


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> harness.Tally:
    work = tmp_path_factory.mktemp("fuzz")
    sources = harness.make_sources(work, SEED, small=True)
    root = work / "cases"
    root.mkdir()
    with harness.worker_session():
        tally = harness.run_cases(SEED, range(CASES), list(harness.KINDS), sources, root)
    shutil.rmtree(root, ignore_errors=True)
    return tally


def test_every_kind_of_case_ran(smoke: harness.Tally) -> None:
    assert sum(smoke.cases.values()) == CASES
    assert set(smoke.cases) == set(harness.KINDS)
    # Mutants reach sendpro's checks: some cases are refused, some converted or taken.
    assert {e for _, e in smoke.exits} >= {"0", "1"}


def test_no_broken_promise_but_the_known_ones(smoke: harness.Tally) -> None:
    unknown = [cls for cls in smoke.classes if harness.known(cls) is None]
    seen = {why for cls in smoke.classes if (why := harness.known(cls))}
    unseen = [why for _, _, why in harness.KNOWN_FAILURES if why not in seen]
    if unseen:
        warnings.warn(
            f"{len(unseen)} KNOWN_FAILURES entries matched no smoke case (fixed, or too rare here: make fuzz tells)",
            stacklevel=1,
        )
    lines = []
    for cls in unknown:
        ex = smoke.examples[cls]
        lines.append(f"{smoke.classes[cls]} x {cls}\n    e.g. case {ex['case']} ({ex['source']}) {ex['mutation']}")
    assert not unknown, "broken promises (replay: benchmarks/fuzz.py --seed 12 --cases 300 --keep DIR):\n" + "\n".join(
        lines
    )


def test_a_case_is_a_function_of_seed_and_index(tmp_path: Path) -> None:
    sources = [
        harness.Source("s", "ack-ta1", tmp_path / "s.ta1"),
        harness.Source("t", "ack-999", tmp_path / "t.999"),
    ]
    (tmp_path / "s.ta1").write_text("ISA*00*" + "x" * 100 + "~TA1*1~IEA*0*1~\n", encoding="ascii")
    (tmp_path / "t.999").write_text("ISA*00*" + "y" * 100 + "~ST*999*1~SE*2*1~IEA*0*1~\n", encoding="ascii")
    kinds = ["ack-ta1", "ack-999"]
    first = [harness.draw_case(3, i, kinds, sources) for i in range(40)]
    again = [harness.draw_case(3, i, kinds, sources) for i in reversed(range(40))][::-1]
    assert [(c.kind, c.source, c.mutation, c.data) for c in first] == [
        (c.kind, c.source, c.mutation, c.data) for c in again
    ]
    assert len({c.data for c in first}) > 30


def _report(out: Path, input_claims: int, accepted: int, rejected: int) -> None:
    def side(claims: int) -> dict[str, object]:
        return {"claims": claims, "total_charge": f"{claims * 10}.00", "total_paid": "0.00"}

    rec: dict[str, object] = {"input": side(input_claims), "accepted": side(accepted), "rejected": side(rejected)}
    rec["skipped"] = side(0)
    rec["balanced"] = input_claims == accepted + rejected
    report = {"status": "complete", "exit_code": 1, "issues": {"by_code": {}}, "reconciliation": {"P": rec, "all": rec}}
    (out / "report.json").write_text(json.dumps(report), encoding="utf-8")


def _extract(*claim_ids: str) -> bytes:
    rows = ["claim_type|mce_claim_id|total_charge|total_paid"]
    rows += [f"P|{cid}|10.00|0.00" for cid in claim_ids]
    return ("\n".join(rows) + "\n").encode()


def _x12_with_claims(*claim_ids: str) -> str:
    isa = "ISA*00*          *00*          *ZZ*A              *ZZ*B              *261124*1200*^*00501*000000001*0*T*:~"
    return isa + "\n" + "".join(f"CLM*{cid}*10.00***11:B:1~\n" for cid in claim_ids) + "IEA*1*000000001~\n"


def test_a_claim_missing_from_every_output_is_found(tmp_path: Path) -> None:
    (tmp_path / "837P.x12").write_text(_x12_with_claims("C1"), encoding="ascii")
    (tmp_path / "rejects_P.txt").write_bytes(_extract("C2"))
    _report(tmp_path, 3, 1, 1)  # report.json admits it: not balanced
    found = harness.check_convert("mce", 1, _extract("C1", "C2", "C3"), tmp_path, {})
    promises = {f.promise for f in found}
    assert {"not balanced", "claims unaccounted"} <= promises
    # A report that balances, but on a claim the files do not hold, is caught by our own count.
    _report(tmp_path, 3, 2, 1)
    found = harness.check_convert("mce", 1, _extract("C1", "C2", "C3"), tmp_path, {})
    assert {f.promise for f in found} >= {"claims unaccounted", "report disagrees"}
    assert "not balanced" not in {f.promise for f in found}


def test_a_claim_in_two_places_is_found(tmp_path: Path) -> None:
    (tmp_path / "837P.x12").write_text(_x12_with_claims("C1", "C2"), encoding="ascii")
    (tmp_path / "rejects_P.txt").write_bytes(_extract("C2"))
    _report(tmp_path, 2, 1, 1)
    found = harness.check_convert("mce", 1, _extract("C1", "C2"), tmp_path, {})
    assert "claim in two places" in {f.promise for f in found}


def test_a_truncated_or_miscounted_acknowledgment_is_seen() -> None:
    ta1 = (
        "ISA*00*          *00*          *ZZ*A              *ZZ*B              *261124*1200*^*00501*000000555*0*T*:~\n"
        "TA1*000000001*261123*1030*A*000~\nIEA*0*000000555~\n"
    )
    assert harness.envelope_problem(ta1.encode()) is None
    assert harness.envelope_problem(ta1.encode()[:-20]) == "the last segment is not IEA"
    group = ta1.replace("TA1*000000001*261123*1030*A*000~\n", "GS*FA*A*B*20261124*1200*7*X*005010X231A1~\n")
    st = "ST*999*0001*005010X231A1~\nAK1*HC*1*005010X222A1~\nAK9*A*1*1*1~\nSE*4*0001~\n"
    whole = group.replace("IEA*0*", st + "GE*1*7~\nIEA*1*")
    assert harness.envelope_problem(whole.encode()) is None
    assert "SE01" in (harness.envelope_problem(whole.replace("SE*4*", "SE*9*").encode()) or "")
    assert "GE01" in (harness.envelope_problem(whole.replace("GE*1*7", "GE*2*7").encode()) or "")


def test_failure_classes_ignore_paths_numbers_and_quoted_values() -> None:
    a = harness.Failure("internal error", "sendpro: internal error: ValueError: '12x' at /tmp/a/b.txt row 12")
    b = harness.Failure("internal error", "sendpro: internal error: ValueError: 'zz' at /tmp/c/d.txt row 7")
    assert harness.failure_class("mce", 2, a) == harness.failure_class("mce", 2, b)
    assert harness.failure_class("mce", 2, a) != harness.failure_class("fw", 2, a)


def test_every_mutation_has_a_docstring_and_applies_somewhere() -> None:
    names = [m.name for m in harness.MUTATIONS]
    assert len(names) == len(set(names))
    for m in harness.MUTATIONS:
        assert m.func.__doc__, m.name
        assert m.formats, m.name


def test_only_listed_classes_are_known() -> None:
    for kinds, pattern, why in harness.KNOWN_FAILURES:
        assert why and pattern and kinds
    assert harness.known("mce | exit 2 | internal error: sendpro: internal error: KeyError: '…'") is None
