"""PACDR files built from the public evidence: both validators accept what the derived maps declare.

Each file starts from the writer's own output (the golden ``fixtures/x12/basic-*``
files, one per claim type) and is edited into the shape public PACDR files take
(``schemas/maps/*.toml`` cite the evidence for each change): a 2000C patient with a
member id, a data receiver in 2010BB, SBR01 ``N``, other-subscriber address and
demographics in 2330A, ``REF*BP`` and ``REF*1N`` (with a REF04 composite) in 2330B,
an other payer patient loop after 2330B, up to 25 line adjudications per line. The
values are synthetic. Next to each construct stands a wrong variant that must
remain a finding, the same in both validators.

The last part checks what ``sendpro validate`` tells an analyst about a file
sendpro did not write: the line, claim, segment or element, loop and what the
guide expects.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from sendpro.api import validate_file
from sendpro.cli import cli
from sendpro.validate.pyx12_bridge import VALIDATORS, check_x12, maps_loaded_once, project_map_dir, validate_x12

REPO = Path(__file__).resolve().parents[2]
#: The writer's output per claim type: the golden files (``tests/x12/test_golden.py`` keeps them the writer's).
BASES = {
    "P": REPO / "fixtures" / "x12" / "basic-professional" / "expected.x12",
    "I": REPO / "fixtures" / "x12" / "basic-institutional" / "expected.x12",
    "D": REPO / "fixtures" / "x12" / "basic-dental" / "expected.x12",
}
#: Synthetic patient (a dependant of the subscriber) and payer references.
PATIENT_NM1 = "NM1*QC*1*BIRCH*BEN****MI*900000000002"
PATIENT_N3 = "N3*7 OAK ST"
PATIENT_N4 = "N4*SALEM*MA*01970"
PATIENT_DMG = "DMG*D8*20100615*M"

Segments = list[str]
Edit = Callable[[Segments], Segments]


# -- building files ------------------------------------------------------------------------------------


def read_segments(path: Path) -> Segments:
    """Return a file's segments (terminators and line breaks removed)."""
    return [s.strip() for s in path.read_text(encoding="ascii").split("~") if s.strip()]


def base_segments(kind: str, claims: int = 3) -> Segments:
    """The writer's file of ``kind`` cut after its first ``claims`` claims (pyx12 is slow on long files)."""
    segs = read_segments(BASES[kind])
    ids = [s.split("*")[1] for s in segs if s.startswith("CLM*")]
    if len(ids) <= claims:
        return segs
    end = claim_span(segs, ids[claims - 1])[2]
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    assert se >= end
    return [*segs[:end], *segs[se:]]


def render(segs: Sequence[str]) -> str:
    """Join segments into a file with HL numbers and SE01 recomputed, so only the intended edits remain.

    An HL written ``HL*+*...`` is a new patient HL: it takes the next number and the
    subscriber HL before it as its parent.
    """
    out: list[str] = []
    new_ids: dict[str, str] = {}
    count = 0
    subscriber = ""
    st = 0
    for seg in segs:
        el = seg.split("*")
        if el[0] == "ST":
            count, new_ids, st = 0, {}, len(out)
        if el[0] == "HL":
            count += 1
            if el[1] == "+":
                el[2] = subscriber
            else:
                new_ids[el[1]] = str(count)
                el[2] = new_ids.get(el[2], el[2])
            el[1] = str(count)
            if el[3] == "22":
                subscriber = el[1]
            seg = "*".join(el)
        if el[0] == "SE":
            seg = f"SE*{len(out) - st + 1}*{el[2]}"
        out.append(seg)
    return "".join(f"{s}~\n" for s in out)


def claim_span(segs: Segments, claim_id: str) -> tuple[int, int, int]:
    """Return (index of the claim's subscriber HL, of its CLM, of the next HL or SE)."""
    clm = next(i for i, s in enumerate(segs) if s.startswith(f"CLM*{claim_id}*"))
    hl = max(i for i in range(clm) if segs[i].startswith("HL*") and segs[i].split("*")[3] == "22")
    end = next(i for i in range(clm + 1, len(segs)) if segs[i].startswith(("HL*", "SE*")))
    return hl, clm, end


def first_claim(segs: Segments) -> str:
    """Return the CLM01 of the file's first claim."""
    return next(s.split("*")[1] for s in segs if s.startswith("CLM*"))


def _after(segs: Segments, index: int, *new: str) -> Segments:
    return [*segs[: index + 1], *new, *segs[index + 1 :]]


def patient_loop(segs: Segments, nm1: str = PATIENT_NM1) -> Segments:
    """2000C/2010CA: the first claim's patient is a dependant, identified by member id (NM108 MI)."""
    hl, clm, _ = claim_span(segs, first_claim(segs))
    segs = list(segs)
    segs[hl] = segs[hl][: segs[hl].rindex("*")] + "*1"  # HL04: the subscriber has a child HL now
    return [*segs[:clm], "HL*+*?*23*0", "PAT*19", nm1, PATIENT_N3, PATIENT_N4, PATIENT_DMG, *segs[clm:]]


def data_receiver(segs: Segments, nm1: str = "NM1*ZD*2*DATA RECEIVER") -> Segments:
    """2010BB: the data receiver, NM1*ZD with no identifier."""
    hl, clm, _ = claim_span(segs, first_claim(segs))
    segs = list(segs)
    payer = max(i for i in range(hl, clm) if segs[i].startswith("NM1*PR*"))
    segs[payer] = nm1
    return segs


def subscriber_unconfirmed(segs: Segments, sbr: str = "SBR*N") -> Segments:
    """2000B: SBR01 N."""
    hl, _, _ = claim_span(segs, first_claim(segs))
    segs = list(segs)
    segs[hl + 1] = sbr
    return segs


def _in_claim(segs: Segments, prefix: str, nth: int = 0) -> int:
    _, clm, end = claim_span(segs, first_claim(segs))
    return [i for i in range(clm, end) if segs[i].startswith(prefix)][nth]


def other_subscriber_details(segs: Segments, dmg: str = "DMG*D8*19800101*F") -> Segments:
    """2330A: N3, N4 and DMG after the other subscriber's NM1*IL."""
    return _after(segs, _in_claim(segs, "NM1*IL*"), "N3*12 ELM AVE", "N4*BOSTON*MA*02118", dmg)


def payer_references(segs: Segments, *refs: str) -> Segments:
    """2330B: REF*F8, REF*BP and REF*1N (with its REF04 composite) after DTP*573."""
    refs = refs or ("REF*F8*MCE2026030100017", "REF*BP*PLAN0042", "REF*1N*871**V0:41.0")
    return _after(segs, _in_claim(segs, "DTP*573*"), *refs)


def other_payer_patient(segs: Segments, nm1: str = PATIENT_NM1, times: int = 1) -> Segments:
    """The other payer patient loop after 2330B (its DTP*573 and REFs): NM1*QC with the member id, N3, N4."""
    last = _in_claim(segs, "DTP*573*")
    while segs[last + 1].startswith("REF*"):
        last += 1
    return _after(segs, last, *([nm1, PATIENT_N3, PATIENT_N4] * times))


def line_adjudications(segs: Segments, count: int) -> Segments:
    """Loop 2430 ``count`` times on the first claim's first line (SVD, CAS, DTP*573 repeated)."""
    svd = _in_claim(segs, "SVD*")
    group = segs[svd : svd + 3]
    assert [s[:3] for s in group] == ["SVD", "CAS", "DTP"], group
    return [*segs[:svd], *(group * count), *segs[svd + 3 :]]


#: Every construct at once: a PACDR file as the public samples have them.
ALL_CONSTRUCTS: tuple[Edit, ...] = (
    patient_loop,
    data_receiver,
    subscriber_unconfirmed,
    other_subscriber_details,
    payer_references,
    other_payer_patient,
)


def build(kind: str, *edits: Edit) -> str:
    """Return the writer's file of ``kind`` (its first claims) with ``edits`` applied (in order)."""
    segs = base_segments(kind)
    for edit in edits:
        segs = edit(segs)
    return render(segs)


def write(tmp_path: Path, text: str, name: str = "pacdr.x12") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="ascii")
    return path


@pytest.fixture(scope="module")
def maps() -> Path:
    return project_map_dir()


@pytest.fixture(scope="module", autouse=True)
def _pyx12_maps_once() -> Iterator[None]:
    """pyx12 parses each XML map once for the module, not for every file (its findings are the same)."""
    with maps_loaded_once({}):
        yield


def findings(path: Path, maps: Path) -> dict[str, list[tuple[str, int | None, str | None, str]]]:
    """Each validator's findings as (code, line, x12 path, message)."""
    out = {}
    for validator in VALIDATORS:
        issues = validate_x12(path, maps, validator=validator)
        out[validator] = [(i.code, i.location.record_no, i.location.x12_path, i.message) for i in issues]
    return out


def line_of(text: str, segment: str, nth: int = 0) -> int:
    """Return the 1-based segment number of the ``nth`` segment equal to ``segment``."""
    segs = [s.strip() for s in text.split("~") if s.strip()]
    return [i + 1 for i, s in enumerate(segs) if s == segment][nth]


# -- the render helper itself ------------------------------------------------------------------------------


def test_render_renumbers_hls_and_recounts_se() -> None:
    text = build("P", patient_loop)
    segs = [s.strip() for s in text.split("~") if s.strip()]
    hls = [s.split("*") for s in segs if s.startswith("HL*")]
    assert [h[1] for h in hls] == [str(n) for n in range(1, len(hls) + 1)]
    assert hls[1][1:] == ["2", "1", "22", "1"] and hls[2][1:] == ["3", "2", "23", "0"]
    # later HLs keep their parents (renumbered): each subscriber points at the billing provider HL before it
    for i, h in enumerate(hls[3:], start=3):
        if h[3] == "22":
            assert h[2] == next(p[1] for p in reversed(hls[:i]) if p[3] == "20")
    st = next(i for i, s in enumerate(segs) if s.startswith("ST*"))
    se = next(i for i, s in enumerate(segs) if s.startswith("SE*"))
    assert segs[se].split("*")[1] == str(se - st + 1)
    # unchanged writer output renders byte for byte
    assert render(read_segments(BASES["P"])) == BASES["P"].read_text(encoding="ascii")
    assert build("P").count("CLM*") == 3 and build("P").endswith("IEA*1*000000001~\n")


def test_writer_output_already_omits_clm06_to_09_and_oi() -> None:
    # CLM06-CLM09 absent and no OI in 2320: declared in the maps, and what the writer itself sends
    for path in BASES.values():
        segs = read_segments(path)
        assert all(len(s.split("*")) == 6 for s in segs if s.startswith("CLM*"))
        assert not [s for s in segs if s.startswith("OI*")]


# -- each construct, in each claim type: accepted by both validators ---------------------------------------

CONSTRUCTS: dict[str, tuple[Edit, ...]] = {
    "2010CA-member-id": (patient_loop,),
    "2010BB-data-receiver": (data_receiver,),
    "2010BB-payer": (lambda s: data_receiver(s, "NM1*PR*2*MASSHEALTH*****PI*MH0001"),),
    "SBR01-N": (subscriber_unconfirmed,),
    "2330A-N3-N4-DMG": (other_subscriber_details,),
    "2330B-REF-BP-1N": (payer_references,),
    "other-payer-patient": (other_payer_patient,),
    "2430-25-times": (lambda s: line_adjudications(s, 25),),
    "all": ALL_CONSTRUCTS,
}


@pytest.mark.parametrize("kind", sorted(BASES))
@pytest.mark.parametrize("construct", sorted(CONSTRUCTS))
def test_public_pacdr_constructs_are_accepted(kind: str, construct: str, maps: Path, tmp_path: Path) -> None:
    text = build(kind, *CONSTRUCTS[construct])
    assert text != render(base_segments(kind))
    path = write(tmp_path, text)
    assert findings(path, maps) == {"compiled": [], "pyx12": []}


def test_the_sample_shape_has_every_construct() -> None:
    segs = [s.strip() for s in build("I", *ALL_CONSTRUCTS).split("~")]
    claim = segs[: next(i for i, s in enumerate(segs) if s.startswith("LX*"))]
    assert "SBR*N" in claim and "NM1*ZD*2*DATA RECEIVER" in claim and "PAT*19" in claim
    assert claim.count(PATIENT_NM1) == 2  # 2010CA and the other payer patient loop
    assert "REF*1N*871**V0:41.0" in claim and "REF*BP*PLAN0042" in claim
    assert not [s for s in claim if s.startswith("OI*")]


# -- wrong variants stay findings, the same in both validators ---------------------------------------------

#: (edits, the finding expected: code, the segment at its line, x12 path)
WRONG: dict[str, tuple[tuple[Edit, ...], str, str, str]] = {
    "2010CA-bad-id-qualifier": (
        (lambda s: patient_loop(s, "NM1*QC*1*BIRCH*BEN****XX*900000000002"),),
        "PX207",
        "NM1*QC*1*BIRCH*BEN****XX*900000000002",
        "NM108",
    ),
    "2010CA-qualifier-without-id": (
        (lambda s: patient_loop(s, "NM1*QC*1*BIRCH*BEN****MI"),),
        "PX108",
        "NM1*QC*1*BIRCH*BEN****MI",
        "NM1",
    ),
    "2010BB-receiver-bad-entity": (
        (lambda s: data_receiver(s, "NM1*ZZ*2*DATA RECEIVER"),),
        "PX101",
        "NM1*ZZ*2*DATA RECEIVER",
        "NM1",
    ),
    "SBR01-unknown": ((lambda s: subscriber_unconfirmed(s, "SBR*Q"),), "PX101", "SBR*Q", "SBR"),
    "2330A-DMG-bad-date": (
        (lambda s: other_subscriber_details(s, "DMG*D8*19801301*F"),),
        "PX208",
        "DMG*D8*19801301*F",
        "DMG02",
    ),
    "2330B-REF-1N-twice": (
        (lambda s: payer_references(s, "REF*1N*871", "REF*1N*872"),),
        "PX105",
        "REF*1N*872",
        "REF",
    ),
    "2330B-REF-unknown-qualifier": (
        (lambda s: payer_references(s, "REF*ZZ*871"),),
        "PX101",
        "REF*ZZ*871",
        "REF",
    ),
    "other-payer-patient-bad-qualifier": (
        (lambda s: other_payer_patient(s, "NM1*QC*1*BIRCH*BEN****XX*900000000002"),),
        "PX207",
        "NM1*QC*1*BIRCH*BEN****XX*900000000002",
        "NM108",
    ),
    "other-payer-patient-twice": (
        (lambda s: other_payer_patient(s, times=2),),
        "PX104",
        PATIENT_NM1,
        "NM1",
    ),
    "2430-26-times": ((lambda s: line_adjudications(s, 26),), "PX104", "", "SVD"),
}


@pytest.mark.parametrize("kind", sorted(BASES))
@pytest.mark.parametrize("case", sorted(WRONG))
def test_wrong_variants_remain_findings_in_both_validators(kind: str, case: str, maps: Path, tmp_path: Path) -> None:
    edits, code, segment, x12_path = WRONG[case]
    text = build(kind, *edits)
    path = write(tmp_path, text)
    found = findings(path, maps)
    assert found["compiled"] == found["pyx12"]
    assert found["compiled"], case
    codes = {(c, p) for c, _, p, _ in found["compiled"]}
    assert (code, x12_path) in codes, found["compiled"]
    if segment:
        lines = {line for c, line, p, _ in found["compiled"] if (c, p) == (code, x12_path)}
        nth = 1 if case in ("other-payer-patient-twice",) else 0
        assert line_of(text, segment, nth) in lines, (lines, found["compiled"])


# -- the declarations themselves -----------------------------------------------------------------------------

MAPS = REPO / "schemas" / "maps"
#: Changes that are no PACDR difference pending anything: ST03 repeats GS08; the dental segments are X12 facts.
NOT_PENDING = {"ST/ST03", "**/2300/DTP[050]", "**/2300/DN1", "**/2400/SV1"}
#: Each difference of the public evidence: (map path, the evidence its why must cite).
DIFFERENCES = {
    "2000A/2000B/2000C/2010CA/NM1/NM108": "PACDR samples",
    "2000A/2000B/SBR/SBR01": "SBR*N in 2000B",
    "2000A/2000B/2010BB/NM1/NM101": "8020 dental guide",
    "2000A/2000B/2010BB/NM1/NM108": "PACDR samples",
    "**/2320/OI": "PACDR sample",
    "**/2320/2330A/N4": "EDI-Workbench's PACDR notes, drawn from the Ohio and New York guides",
    "**/2320/2330B/REF[F8]": "PACDR institutional sample",
    "**/2320/2330B/REF[BP]": "PACDR institutional sample",
    "**/2320/2330B": "4010 guides had it as 2330C",
    "**/2400/2430": "8020 dental",
}


def _changes(guide: str) -> dict[str, dict[str, object]]:
    data = tomllib.loads((MAPS / f"{guide}.toml").read_text(encoding="utf-8"))
    return {str(c["path"]): c for c in data["change"]}


@pytest.mark.parametrize("guide", ["005010X298A1", "005010X299A1", "005010X300A1"])
def test_every_difference_is_declared_with_its_evidence_and_pending(guide: str) -> None:
    changes = _changes(guide)
    for path, evidence in DIFFERENCES.items():
        assert path in changes, (guide, path)
        assert evidence in str(changes[path]["why"]), (guide, path)
    assert "other payer patient" in str(changes["**/2320/2330B"]["why"]).lower()
    assert "2330BC" in str(changes["**/2320/2330B"]["insert_after"])
    assert changes["**/2400/2430"]["repeat"] == "25"
    clm = next(changes[p] for p in ("**/2300/CLM/CLM06", "**/2300/CLM/CLM07") if p in changes)
    assert "CLM ends at CLM05 in the PACDR" in str(clm["why"])
    for path, change in changes.items():
        if path not in NOT_PENDING:
            assert "pending massHealth's companion guide".lower() in str(change["why"]).lower(), (guide, path)


# -- what an analyst reads about a file sendpro did not write ------------------------------------------------


def _replace(segs: Segments, claim_id: str, prefix: str, new: str | None, nth: int = 0) -> Segments:
    """Replace (``new`` None: delete) the ``nth`` segment of claim ``claim_id`` starting with ``prefix``."""
    _, clm, end = claim_span(segs, claim_id)
    index = [i for i in range(clm, end) if segs[i].startswith(prefix)][nth]
    return [*segs[:index], *([new] if new is not None else []), *segs[index + 1 :]]


def foreign_file() -> str:
    """A professional PACDR file in the public samples' shape, with five mistakes in three claims."""
    segs = base_segments("P")
    for edit in ALL_CONSTRUCTS:
        segs = edit(segs)
    segs = _replace(segs, "PRO-0001", "DMG*D8*19800101*F", "DMG*D8*19801301*F")  # 2330A: no such date
    segs = _replace(segs, "PRO-0001", "REF*BP*", "REF*ZZ*PLAN0042")  # 2330B: a qualifier the guide lacks
    segs = _replace(segs, "PRO-0002", "SBR*P*18****6", "SBR*P*18****7***MC")  # 2320: SBR06 is 6
    segs = _replace(segs, "PRO-0002", "SV1*", None)  # 2400: the service line's SV1 left out
    _, clm, end = claim_span(segs, "PRO-0003")
    svd = next(i for i in range(clm, end) if segs[i].startswith("SVD*"))
    segs = [*segs[:svd], *(segs[svd : svd + 3] * 26), *segs[svd + 3 :]]  # 2430: 26 line adjudications
    return render(segs)


#: The findings of :func:`foreign_file`: (code, x12 path) -> (claim, loop, what the guide expects, the
#: segment at the finding's line: pyx12 notices a missing segment at the one in its place).
FOREIGN_FINDINGS = {
    ("PX208", "DMG02"): ("PRO-0001", "2330A", "a real calendar date, CCYYMMDD", "DMG"),
    ("PX101", "REF"): ("PRO-0001", "2330B", "REF here only as 2330B Other Payer Name (REF01 2U, EI, FY, NF, G1", "REF"),
    ("PX207", "SBR06"): ("PRO-0002", "2320", "one of: 6", "SBR"),
    ("PX103", "SV1"): ("PRO-0002", "2400", "SV1 (Professional Service) in every 2400", "DTP"),
    ("PX104", "SVD"): ("PRO-0003", "2430", "loop 2430 at most 25 times in each 2400", "SVD"),
}
_CLI_LINE = re.compile(
    r"^(?P<file>\S+): line (?P<line>\d+): claim (?P<claim>\S+): (?P<ref>[A-Z0-9-]+): (?P<code>PX\d{3}) error: "
    r"(?P<message>.+)$"
)


def test_validate_names_line_claim_element_loop_and_expectation(tmp_path: Path) -> None:
    text = foreign_file()
    path = write(tmp_path, text, "vendor.x12")
    outputs = {}
    for validator in VALIDATORS:
        result = CliRunner().invoke(cli, ["validate", str(path), "--validator", validator])
        assert result.exit_code == 1, result.output
        outputs[validator] = result.output
    assert outputs["compiled"] == outputs["pyx12"]
    lines = outputs["compiled"].splitlines()
    assert lines[-1].endswith(f"{len(FOREIGN_FINDINGS)} problem(s)"), lines
    seen = set()
    for printed in lines[:-1]:
        m = _CLI_LINE.match(printed)
        assert m, printed
        key = (m.group("code"), m.group("ref"))
        claim, loop, expected, seg_id = FOREIGN_FINDINGS[key]
        seen.add(key)
        assert m.group("claim") == claim, printed
        assert f"loop {loop} (" in m.group("message"), printed
        assert f"the guide expects {expected}" in m.group("message"), printed
        segment = [s.strip() for s in text.split("~")][int(m.group("line")) - 1]
        assert segment.split("*")[0] == seg_id, (segment, printed)
    assert seen == set(FOREIGN_FINDINGS)


def test_explained_findings_keep_values_out_and_documents_equal(tmp_path: Path, maps: Path) -> None:
    path = write(tmp_path, foreign_file(), "vendor.x12")
    compiled, compiled_doc = check_x12(path, maps, validator="compiled")
    reference, reference_doc = check_x12(path, maps, validator="pyx12")
    # the loop and the expectation are added to the issues only: the findings documents (the 999's
    # source) stay the validators' own, and equal
    assert compiled_doc == reference_doc
    assert compiled == reference
    for issue in validate_file(path, validator="compiled"):
        assert issue.location.claim_id in {"PRO-0001", "PRO-0002", "PRO-0003"}
        assert issue.detail["loop"] and issue.detail["expected"], issue
        assert issue.detail["loop_path"].startswith("2000A/2000B/") and issue.detail["loop_path"].endswith(
            issue.detail["loop"]
        )
        for value in ("19801301", "PLAN0042", "BIRCH", "900000000002"):
            assert value not in issue.message
    date = next(i for i in compiled if i.code == "PX208")
    assert date.value == "19801301"  # kept apart from the message, shown only with --include-values


def test_a_segment_pyx12_does_not_find_is_placed_in_words(tmp_path: Path, maps: Path) -> None:
    # pyx12 says "Segment SBR not found. Started at /ISA_LOOP/GS_LOOP/...": the analyst reads the loop instead
    path = write(tmp_path, build("P", lambda s: subscriber_unconfirmed(s, "SBR*Q")))
    for validator in VALIDATORS:
        issue = next(i for i in validate_x12(path, maps, validator=validator) if i.code == "PX101")
        assert "ISA_LOOP" not in issue.message
        assert "after HL of loop 2000B (Subscriber Hierarchical Level)" in issue.message
        assert "SBR01 A, B, C, D, E, F, G, H, N, P, S, T, U" in issue.message  # N: the PACDR difference


@pytest.mark.parametrize(
    ("edit", "code", "ref", "loop", "expected"),
    [
        (
            lambda s: patient_loop(s, "NM1*QC*1*BIRCH*BEN****MI*" + "9" * 81),
            "PX205",
            "NM109",
            "2010CA",
            "2 to 80 characters",
        ),
        (
            lambda s: _replace(s, first_claim(s), "CLM*", "CLM*PRO-0001*250*X**11:B:1"),
            "PX210",
            "CLM03",
            "2300",
            "no value: the guide does not use this element here",
        ),
        (
            lambda s: other_subscriber_details(s, "DMG*D8*19800101*Q"),
            "PX207",
            "DMG03",
            "2330A",
            "one of: F, M, U",
        ),
    ],
    ids=["too-long", "not-used", "bad-code"],
)
def test_element_findings_say_what_the_element_takes(
    edit: Edit, code: str, ref: str, loop: str, expected: str, maps: Path, tmp_path: Path
) -> None:
    path = write(tmp_path, build("P", edit))
    found = {v: validate_x12(path, maps, validator=v) for v in VALIDATORS}
    assert found["compiled"] == found["pyx12"]
    [issue] = found["compiled"]
    assert (issue.code, issue.location.x12_path, issue.detail["loop"]) == (code, ref, loop)
    assert issue.detail["expected"] == expected
    assert f", in loop {loop} (" in issue.message
    assert f"; the guide expects {expected}" in issue.message
