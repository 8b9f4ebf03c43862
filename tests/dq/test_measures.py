"""The measure definitions file: every measure well formed and citing its source."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sendpro.codesets.catalog import SPEC_BY_NAME, CodeSets
from sendpro.dq import DqAccumulator, Lists, load_measures, summary_lines
from sendpro.dq.measures import CLAIM_GROUPS, measures_path
from sendpro.errors import SendproError
from sendpro.model.fields import FIELDS_BY_NAME
from sendpro.model.rx_fields import RX_FIELDS_BY_NAME
from sendpro.resources import schemas_dir

SOURCES = ("jplegeratma/DQ_SENDPRO ", "jplegeratma/TMSIS_SENDPRO ")


def test_definitions_are_packaged_data() -> None:
    """The file is under schemas/ (force-included in the wheel as sendpro/schemas)."""
    assert measures_path() == schemas_dir() / "dq" / "measures.toml"
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]["schemas"] == "sendpro/schemas"


def test_every_measure_cites_its_source() -> None:
    """Each measure, computed or not, names the public query file it comes from."""
    found = load_measures()
    assert found.measures and found.uncomputable
    for m in [*found.measures, *found.uncomputable]:
        assert m.source.startswith(SOURCES), m.id
        assert ".sql" in m.source, m.id


def test_measures_read_fields_the_model_has() -> None:
    """A measure names fields of its catalogue (837 or pharmacy) and code sets sendpro knows."""
    for m in load_measures().measures:
        fields = RX_FIELDS_BY_NAME if m.pharmacy else FIELDS_BY_NAME
        assert set(m.fields) <= set(fields), m.id
        assert set(m.codesets) <= set(SPEC_BY_NAME), m.id
        assert set(m.claim_groups) <= set(CLAIM_GROUPS) and 0 < m.threshold <= 1


def test_thresholds_from_the_sources() -> None:
    """The T-MSIS thresholds the issue names: 0.95, 1.0, 1.0; 0.99 where the source gives none."""
    by_id = {m.id: m for m in load_measures().measures}
    assert by_id["tmsis_discharge_date"].threshold == 0.95
    assert by_id["tmsis_headers_without_lines"].threshold == 1.0
    assert by_id["tmsis_adjudication_date"].threshold == 1.0
    assert by_id["claim_frequency"].threshold == 0.99


def test_measures_without_their_list_are_not_computed() -> None:
    """Without code lists or a member file, those measures are listed with the reason.

    ICD-10-CM is packaged, so the diagnosis measures are computed without configuration.
    """
    acc = DqAccumulator(load_measures(), Lists(CodeSets.load()), pharmacy=False)
    reasons = {n["measure"]: n["reason"] for n in acc.not_computed}
    assert "[codesets] icd10pcs" in reasons["icd10_procedure"]
    assert "principal_diagnosis" not in reasons
    assert "member reference file" in reasons["member_id"]
    assert "admission_type" in reasons and "ndc" not in reasons  # pharmacy measures are not a medical run's
    assert {"claim_frequency", "billing_npi", "line_charge"} <= {m.id for m in acc.computed}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[[measure]]\nid = "x"\nname = "n"\ncheck = "magic"\nfields = ["dx_1"]\nclaim_groups = ["dental"]\n'
            'source = "s"',
            "check must be one of",
        ),
        (
            '[[measure]]\nid = "x"\nname = "n"\ncheck = "present"\nfields = ["dx_1"]\nclaim_groups = ["dental"]\n',
            "'source'",
        ),
        (
            '[[measure]]\nid = "x"\nname = "n"\ncheck = "present"\nfields = ["dx_1"]\nsource = "s"\n'
            'claim_groups = ["dental", "pharmacy"]',
            "pharmacy alone",
        ),
        (
            '[[measure]]\nid = "x"\nname = "n"\ncheck = "present"\nfields = ["dx_1"]\nsource = "s"\n'
            'claim_groups = ["dental"]\nthreshold = 2',
            "threshold",
        ),
        ("not toml [", "cannot be read"),
    ],
)
def test_bad_definitions_are_one_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    """A broken definitions file stops the run with one line naming the file and the measure."""
    path = tmp_path / "measures.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SendproError, match=problem) as err:
        load_measures(path)
    assert str(path) in str(err.value)


def test_summary_lists_at_most_ten_below_threshold() -> None:
    """The run summary shows ten measures below threshold, then how many more."""
    row = {"file": "837P.x12", "claim_group": "professional", "record_type": "original", "threshold": 0.99}
    below = [
        {**row, "measure": f"m{i}", "numerator": 9, "denominator": 10, "rate": 0.9, "met": False} for i in range(12)
    ]
    fine = [{**row, "measure": "ok", "numerator": 10, "denominator": 10, "rate": 1.0, "met": True}]
    lines = summary_lines([*fine, *below])
    assert lines[0].strip().startswith("MassHealth data-quality measures below threshold: 12")
    assert len(lines) == 1 + 10 + 1 and lines[-1].strip() == "... and 2 more"
    assert "m0" in lines[1] and "90.00% < 99%" in lines[1] and "(9/10)" in lines[1]
    assert summary_lines(fine) == []
