"""The content hash that identifies a submitted version of a claim."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sendpro.ledger.history import content_hash
from tests.helpers import BASE_RX, claim_rows, mce_text, run_engine, rx_text

FW = Path(__file__).resolve().parents[2] / "fixtures" / "x12" / "fw-equivalence"


def _encounters(path: Path, layout: str) -> list:  # type: ignore[type-arg]
    claims, _ = run_engine(path, layout)
    return [c.encounter for c in claims]


def test_the_hash_is_pinned(tmp_path: Path) -> None:
    """Changing how the hash is computed makes every earlier submission look changed (CL051): never by accident."""
    (encounter,) = _encounters(_path(tmp_path / "a.txt", mce_text(claim_rows())), "mce-v1")
    assert content_hash(encounter) == "aaa1a0c5f7346433f43a255d822aa507"


def test_provenance_is_not_content(tmp_path: Path) -> None:
    (a,) = _encounters(_path(tmp_path / "a.txt", mce_text(claim_rows())), "mce-v1")
    # The same claim further down another file: other rows, other file name.
    rows = claim_rows({"mce_claim_id": "OTHER"}) + claim_rows()
    b = _encounters(_path(tmp_path / "b.txt", mce_text(rows)), "mce-v1")[1]
    assert a.rows != b.rows and a.file != b.file
    assert content_hash(a) == content_hash(b)


def test_every_value_counts(tmp_path: Path) -> None:
    (base,) = _encounters(_path(tmp_path / "a.txt", mce_text(claim_rows())), "mce-v1")
    changed_line = dataclasses.replace(base.lines[1], charge=(base.lines[1].charge or 0) + 1)
    variants = [
        dataclasses.replace(base, header=dataclasses.replace(base.header, frequency="7")),
        dataclasses.replace(base, member=dataclasses.replace(base.member, last_name="ALDERSON")),
        dataclasses.replace(base, lines=(base.lines[0], changed_line)),
        dataclasses.replace(base, lines=base.lines[:1]),
        dataclasses.replace(base, rendering=None),
    ]
    hashes = {content_hash(v) for v in variants}
    assert len(hashes) == len(variants) and content_hash(base) not in hashes


def test_the_same_claims_in_both_encodings_hash_the_same() -> None:
    delimited = _encounters(FW / "input.txt", "mce-v1")
    fixed = _encounters(FW / "input.dat", "mce-fw-example")
    assert [content_hash(e) for e in delimited] == [content_hash(e) for e in fixed]


def test_pharmacy_encounters_hash_too(tmp_path: Path) -> None:
    (a,) = _encounters(_path(tmp_path / "rx.txt", rx_text([BASE_RX])), "mce-rx-v1")
    (b,) = _encounters(_path(tmp_path / "rx2.txt", rx_text([{**BASE_RX, "fill_number": "1"}])), "mce-rx-v1")
    assert len(content_hash(a)) == 32 and content_hash(a) != content_hash(b)


def _path(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
