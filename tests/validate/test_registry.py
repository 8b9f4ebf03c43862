from __future__ import annotations

import re

import pytest

from sendpro.errors import UsageError
from sendpro.report.issue import Severity
from sendpro.validate.catalog import catalog, describe_code
from sendpro.validate.registry import RuleRegistry, is_selected
from sendpro.validate.rules import DEFAULT_RULES


@pytest.mark.parametrize(
    ("code", "select", "ignore", "expected"),
    [
        ("CL015", [], [], True),
        ("CL015", [], ["CL"], False),
        ("CL015", ["CL015"], ["CL"], True),  # longer prefix wins
        ("CL015", ["CL"], ["CL01"], False),
        ("CL015", ["CL01"], ["CL01"], True),  # a tie goes to the selection
        ("CL015", ["SV"], [], False),
        ("SV010", ["SV", "CL"], ["SV01"], False),
    ],
)
def test_is_selected(code: str, select: list[str], ignore: list[str], expected: bool) -> None:
    assert is_selected(code, select, ignore) is expected


def test_select_gives_fresh_instances_with_overrides() -> None:
    registry = RuleRegistry()
    a = registry.select(severities={"CL015": Severity.WARNING})
    b = registry.select()
    by_code_a = {r.code: r for r in a.all}
    by_code_b = {r.code: r for r in b.all}
    assert by_code_a["CL015"].effective_severity is Severity.WARNING
    assert by_code_b["CL015"].effective_severity is Severity.ERROR
    assert by_code_a["CL015"] is not by_code_b["CL015"]
    assert len(a.all) == len([r for r in DEFAULT_RULES if "medical" in r.models])
    pharmacy = {r.code for r in registry.select(model="pharmacy").all}
    assert "RX013" in pharmacy and "FF010" in pharmacy and "CL015" not in pharmacy


def test_guards_always_run_and_cannot_be_weakened() -> None:
    registry = RuleRegistry()
    only_pv = {r.code for r in registry.select(select=["PV"]).all}
    assert "PV010" in only_pv and "CL011" in only_pv and "CL015" not in only_pv
    with pytest.raises(UsageError, match="cannot be ignored"):
        registry.select(ignore=["CL011"])
    with pytest.raises(UsageError, match="stays an error"):
        registry.select(severities={"CL011": Severity.WARNING})
    with pytest.raises(UsageError, match="unknown rule code"):
        registry.select(severities={"ZZ999": Severity.WARNING})


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        RuleRegistry([DEFAULT_RULES[0], DEFAULT_RULES[0]])


def test_every_rule_is_documented_with_a_stable_code() -> None:
    codes = [r.code for r in DEFAULT_RULES]
    assert len(codes) == len(set(codes))
    for rule in DEFAULT_RULES:
        assert re.fullmatch(r"[A-Z]{2}\d{3}", rule.code), rule
        assert rule.code[:2] in {"FF", "MB", "CL", "PV", "SV", "RX", "CS", "MH"}, rule
        assert rule.models and rule.models <= {"medical", "pharmacy"}, rule
        assert re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+", rule.name), rule
        doc = rule.__doc__ or ""
        assert "Bad:" in doc and "Good:" in doc, rule
        assert rule.summary().endswith("."), rule
        assert rule.template


def test_catalog_covers_rules_file_problems_px_and_stop_codes() -> None:
    entries = {e.code: e for e in catalog()}
    assert {r.code for r in DEFAULT_RULES} <= set(entries)
    assert entries["FF001"].severity == "fatal"
    assert entries["CL011"].severity == "guard"
    assert entries["SV010"].severity == "error"
    assert "IK403 8" in entries["PX208"].summary
    assert entries["SP006"].severity == "fatal"
    assert describe_code("CL015").startswith("The claim's total charge")
    assert describe_code("ZZ999") == ""


@pytest.mark.parametrize("profile", ["post-adjudication", "batch-d0"])
def test_rx021_checks_only_fields_the_input_may_overflow(profile: str) -> None:
    """Dates and codes always fit, so only amounts, quantities and long identifiers are encoded twice."""
    from sendpro.flatfile.layout import load_layout
    from sendpro.validate.rule import RuleContext
    from sendpro.validate.rules.pharmacy import NcpdpFieldFit

    rule = NcpdpFieldFit()
    rule.start(RuleContext("x.txt", load_layout("mce-rx-v1"), extra={"ncpdp_layout": profile}))
    checked = {str(f.field) for f, _ in rule._fields}
    assert {"ingredient_cost_paid", "total_amount_paid", "quantity_dispensed"} <= checked
    assert not checked & {"date_of_service", "member_dob", "member_gender", "daw_code", "compound_code"}
