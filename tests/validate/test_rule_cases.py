"""Rule cases as data: every ``fixtures/rules/<CODE>.toml`` case runs through the real engine.

A case builds an input from the valid base claim (tests/helpers.py) plus
overrides, runs the default rules, and checks that its rule fires (``fail``)
with the expected ``[code, row, field]`` issues, or does not (``pass``).
A case with ``submitted`` claims first converts them through a fresh ledger,
so the history rules (CL05x) see them as earlier submissions. ``codesets``,
``providers`` and ``members`` give a case its code lists and reference files.
"""

from __future__ import annotations

import tomllib
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sendpro import api
from sendpro.codesets.catalog import CodeSets
from sendpro.flatfile.layout import Role, load_layout
from sendpro.flatfile.picture import decode_number, encode_number
from sendpro.ledger.db import Ledger
from sendpro.ledger.history import History
from sendpro.ledger.journal import RunJournal
from sendpro.projectconfig import CodeListSource
from sendpro.references import Members, Providers
from sendpro.validate.rules import DEFAULT_RULES
from tests.helpers import (
    BASES,
    INPATIENT,
    all_issues,
    claim_rows,
    fw_text,
    mce_text,
    run_engine,
    rx_text,
    test_config,
)

RULE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rules"


def _rows_of(spec: dict[str, Any]) -> list[dict[str, str]]:
    lines = spec.get("lines")
    count = spec.get("line_count")
    base, base_lines = BASES[spec.get("base", "P")]
    claim = {**(INPATIENT if spec.get("inpatient") else {}), **spec.get("claim", {})}
    if count:
        generated = [{**base_lines[i % len(base_lines)], "line_number": str(i + 1)} for i in range(count)]
        rows = claim_rows(claim, lines, base=base, base_lines=generated)
    else:
        rows = claim_rows(claim, lines, base=base, base_lines=base_lines)
    keep = spec.get("keep_lines")
    return rows[:keep] if keep else rows


def _apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    lines = text.split("\n")
    for edit in edits:
        if "insert" in edit:
            lines.insert(int(edit["after"]), str(edit["insert"]))
            continue
        i = int(edit["line"]) - 1
        if "truncate" in edit:
            lines[i] = lines[i][: int(edit["truncate"])]
        elif "replace" in edit:
            lines[i] = str(edit["replace"])
        elif "sub" in edit:
            old, new = edit["sub"]
            lines[i] = lines[i].replace(old, new)
        elif edit.get("delete"):
            del lines[i]
    return "\n".join(lines)


def _refresh_fw_trailer(text: str) -> str:
    """Recompute the example layout's trailer after edits, so only the edited rule fires."""
    lay = load_layout("mce-fw-example")
    claim, trailer = lay.record(Role.CLAIM), lay.record(Role.TRAILER)
    assert claim and trailer
    total_spec = next(f for f in claim.fields if f.field == "total_charge")
    lines = [ln for ln in text.split("\n") if ln]
    body = [ln for ln in lines if not ln.startswith("TR")]
    total = Decimal(0)
    for ln in body:
        if ln.startswith("CL") and total_spec.start and total_spec.picture:
            raw = ln[total_spec.start - 1 : total_spec.end]
            total += decode_number(raw, total_spec.picture)
    chars = list(next(ln for ln in lines if ln.startswith("TR")))
    for f in trailer.fields:
        assert f.start and f.picture
        value: Decimal | int = len(body) + 1 if f.check == "count:records" else total
        chars[f.start - 1 : f.end] = list(encode_number(value, f.picture))
    return "\n".join([*body, "".join(chars)]) + "\n"


def build_input(case: dict[str, Any], tmp_path: Path) -> Path:
    """Write the case's input file."""
    layout = case.get("layout", "mce-v1")
    default_base = "RX" if layout == "mce-rx-v1" else "P"
    claims = [
        {"base": case.get("base", default_base), "inpatient": case.get("inpatient", False), **c}
        for c in case.get("claims", [])
    ] or [{"base": default_base, **case}]
    rows = [_rows_of(c) for c in claims]
    if layout == "mce-v1":
        text = mce_text([r for c in rows for r in c], extra_columns=case.get("extra_columns", ()))
        text = _apply_edits(text, case.get("edits", []))
    elif layout == "mce-rx-v1":
        text = _apply_edits(rx_text([r for c in rows for r in c]), case.get("edits", []))
    else:
        text = _apply_edits(fw_text(rows), case.get("edits", []))
        text = _refresh_fw_trailer(text)
    path = tmp_path / ("input.dat" if layout == "mce-fw-example" else "input.txt")
    path.write_text(text, encoding="utf-8")
    return path


def _history(case: dict[str, Any], tmp_path: Path, stack: ExitStack) -> History:
    """Convert the case's ``submitted`` claims through a ledger; return that ledger's history.

    ``submitted_status`` then marks those encounters (e.g. ``rejected``, as a 277 would).
    ``rejected_in_run`` lists claims the current run already rejected: tables with
    ``claim_id`` and ``codes`` (what its errors were), journaled as a run would.
    """
    ledger_path = tmp_path / "ledger.sqlite"
    if case["submitted"]:
        earlier = {k: v for k, v in case.items() if k in ("layout", "base", "inpatient")}
        earlier["claims"] = case["submitted"]
        (tmp_path / "earlier").mkdir()
        source = build_input(earlier, tmp_path / "earlier")
        report = api.convert_files([source], tmp_path / "earlier-out", test_config(ledger=ledger_path))
        assert report.overall.accepted.claims == len(case["submitted"]), "the submitted claims must be valid"
    ledger = stack.enter_context(Ledger(ledger_path))
    if "submitted_status" in case:
        ledger.db.execute("UPDATE encounters SET status = ?", (case["submitted_status"],))
    journal = RunJournal(tmp_path)
    stack.callback(journal.close)
    for rejected in case.get("rejected_in_run", []):
        journal.add(rejected["claim_id"], "P", "1", None, "0" * 32, 0, 0, None, detail=rejected["codes"])
    return History(ledger, journal)


def _references(case: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Build the case's code lists and reference files (``codesets``, ``providers``, ``members``).

    ``codesets`` maps a code set to releases: a list of codes, or tables with
    ``codes`` and optional ``version`` / ``effective_from`` / ``effective_to``.
    ``providers`` and ``members`` are lists of CSV rows as tables.
    """
    out: dict[str, Any] = {}
    if "codesets" in case:
        sources: dict[str, tuple[CodeListSource, ...]] = {}
        for name, releases in case["codesets"].items():
            if releases and isinstance(releases[0], str):
                releases = [{"codes": releases}]
            found = []
            for n, release in enumerate(releases):
                path = tmp_path / f"{name}-{n}.txt"
                path.write_text("\n".join(release["codes"]) + "\n", encoding="utf-8")
                found.append(
                    CodeListSource(
                        path,
                        release.get("version"),
                        release.get("effective_from"),
                        release.get("effective_to"),
                    )
                )
            sources[name] = tuple(found)
        out["codesets"] = CodeSets.load(sources)
    for key, reader in (("providers", Providers.read), ("members", Members.read)):
        if key in case:
            rows = case[key]
            columns = sorted({c for r in rows for c in r})
            path = tmp_path / f"{key}.csv"
            lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            out[key] = reader(path)
    return out


def test_rule_case(rule_case: dict[str, Any], tmp_path: Path) -> None:
    path = build_input(rule_case, tmp_path)
    extra = {**_references(rule_case, tmp_path), **rule_case.get("context", {})}
    with ExitStack() as stack:
        if "submitted" in rule_case:
            extra["history"] = _history(rule_case, tmp_path, stack)
        claims, file_issues = run_engine(path, rule_case.get("layout", "mce-v1"), extra)
    issues = all_issues(claims, file_issues)
    code = rule_case["code"]
    found = {(i.code, i.location.record_no, i.location.field or "") for i in issues}
    if rule_case["expect"] == "pass":
        assert not [i for i in issues if i.code == code], [i.message for i in issues if i.code == code]
        return
    assert any(i.code == code for i in issues), f"{code} did not fire; found {sorted(found)}"
    for expected in rule_case.get("issues", []):
        exp_code, row = expected[0], expected[1]
        exp_field = expected[2] if len(expected) > 2 else ""
        assert (exp_code, row, exp_field) in found, f"missing {expected}; found {sorted(found)}"
    for i in issues:
        if i.code == code:
            assert i.message and "{" not in i.message, i.message


def test_every_rule_has_pass_and_fail_cases() -> None:
    """Each default rule has a case file with at least one passing and one failing case."""
    missing = []
    for rule in DEFAULT_RULES:
        path = RULE_FIXTURES / f"{rule.code}.toml"
        if not path.is_file():
            missing.append(f"{rule.code}: no file")
            continue
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        kinds = {c.get("expect") for c in data.get("case", [])}
        if not {"pass", "fail"} <= kinds:
            missing.append(f"{rule.code}: needs pass and fail cases (has {sorted(kinds)})")
    assert not missing, missing


@pytest.mark.parametrize("path", sorted(RULE_FIXTURES.glob("*.toml")), ids=lambda p: p.stem)
def test_case_files_name_known_rules(path: Path) -> None:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["code"] == path.stem
    assert data["code"] in {r.code for r in DEFAULT_RULES}
