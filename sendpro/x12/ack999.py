"""Write a 999 implementation acknowledgment (005010X231A1) for an X12 file, from pyx12's findings.

pyx12 can write a 999 itself, but puts its TA1 after the functional group,
takes its control numbers from the wall clock and leaves out the context that
tells an analyst which claim a segment error belongs to. This writer builds the
999 from pyx12's findings instead: the TA1 (when one is due) right after the ISA,
control numbers and clock injected, and a business-unit CTX (``CLM01``) naming
the claim of every segment error inside a claim. Bad values (IK404) are left out
unless asked for: they can be member data.

The 999 must itself be valid X12 whatever the acknowledged file holds, so every
value copied from it is checked first (:func:`_fits`): a segment ID, claim ID or
bad value that is not printable ASCII, or holds a separator of the reply, is
left out or written in a form X12 allows. pyx12's own segment codes (HL1, HL2,
LX, SEG1) become IK304 code 8, as pyx12's 999 writer does. A file whose
separators cannot be used gets the reply in the default ones; an interchange
whose header cannot be used to address a reply (:func:`ack_problem`) gets none.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sendpro.x12.ackcodes import ELEMENT_CODES, INTERCHANGE_NOTES, SEGMENT_CODES, TRANSACTION_ACCEPTED
from sendpro.x12.envelope import ControlNumbers, EnvelopeSettings, write_ge, write_gs, write_iea, write_isa
from sendpro.x12.scan import iter_segments
from sendpro.x12.segments import Delimiters, SegmentWriter
from sendpro.x12.validator.envelope import ISA_LEN, NOTE_CONTENT, addressing_problem, header_elements

#: The 999's implementation guide.
VERSION_999 = "005010X231A1"


@dataclass
class SourceInterchange:
    """The envelope of one interchange of the acknowledged file."""

    isa: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)  # GS06 -> GS elements


def reply_delimiters(head: str) -> Delimiters:
    """Return the separators a reply to the file with this ISA header is written in.

    The file's own, when X12 allows them and the reply can use them (printable
    ASCII, not a letter, digit or space, four different characters); the
    defaults otherwise (a file whose separators are letters still gets a TA1).
    """
    element, component, terminator = head[3], head[104], head[105]
    repetition = head[82]
    if repetition.isalnum() or not _printable(repetition) or repetition in (element, component, terminator):
        # A 4010-style ISA11 ("U") is no separator: pick one the file does not use.
        repetition = next(c for c in "^|!{" if c not in (element, component, terminator))
    if not all(_printable(c) for c in (element, component, terminator)):
        return Delimiters()
    try:
        return Delimiters(element, component, repetition, terminator)
    except ValueError:  # letters, digits, spaces or one character twice
        return Delimiters()


def read_envelopes(path: Path) -> tuple[Delimiters, list[SourceInterchange]]:
    """Return the reply's delimiters and the ISA/GS segments of each interchange (streaming).

    The first ISA is read by its fixed positions (X12 fixes its layout), so it is
    read right even when its separators are not usable; later ones as split.

    Raises:
        ValueError: the file does not start with a whole ISA segment.
    """
    with path.open("r", encoding="ascii", errors="replace", newline="") as handle:
        head = handle.read(ISA_LEN)
    if len(head) < ISA_LEN or not head.startswith("ISA"):
        raise ValueError(f"{path.name} does not start with an ISA segment")
    delimiters = reply_delimiters(head)
    interchanges: list[SourceInterchange] = [SourceInterchange(header_elements(head))]
    for number, el in iter_segments(path):
        if el[0] == "ISA" and number > 1:
            interchanges.append(SourceInterchange(el))
        elif el[0] == "GS" and interchanges and len(el) > 6:
            interchanges[-1].groups[el[6]] = el
    return delimiters, interchanges


def ack_problem(doc: Mapping[str, Any], delimiters: Delimiters, sources: list[SourceInterchange]) -> str | None:
    """Return why no acknowledgment can be addressed to the interchanges ``doc`` reports on, or None.

    A TA1 names the interchange by its ISA13, ISA09 and ISA10, and a reply goes from
    its receiver to its sender (ISA07/08 to ISA05/06): when one of those cannot be
    read as valid X12, there is nothing a reply can be addressed to. Only the
    interchanges the findings cover are acknowledged (see :meth:`Ack999Writer.write`).
    """
    for _, source in pair_interchanges(doc, sources):
        problem = addressing_problem(source.isa, delimiters.chars)
        if problem is not None:
            return f"no acknowledgment can be addressed to the interchange: {problem}"
    return None


def pair_interchanges(
    doc: Mapping[str, Any], sources: list[SourceInterchange]
) -> list[tuple[Mapping[str, Any], SourceInterchange]]:
    """Pair each interchange of the findings with the file's interchange it is about, in file order.

    By ISA13 when the findings name it (a finding filed on a later interchange where
    pyx12 stopped), else the next interchange of the file.
    """
    pairs: list[tuple[Mapping[str, Any], SourceInterchange]] = []
    start = 0
    for isa_doc in doc.get("interchanges", []):
        want = str(isa_doc.get("isa_trn_set_id") or "").strip()
        rest = range(start, len(sources))
        k = next((i for i in rest if want and _el(sources[i].isa, 13) == want), start if start < len(sources) else None)
        if k is None:
            break
        pairs.append((isa_doc, sources[k]))
        start = k + 1
    return pairs


def _printable(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _fits(value: str, d: Delimiters, low: int = 1, high: int = 80) -> bool:
    """Whether ``value`` can be copied into an element of the reply: printable ASCII, no separator, its length."""
    return (
        low <= len(value) <= high and _printable(value) and value.strip() != "" and not any(c in value for c in d.chars)
    )


def _code(value: str, low: int, high: int) -> bool:
    """Whether ``value`` can be an ID (code) element: upper-case letters and digits, ``low`` to ``high`` long."""
    return low <= len(value) <= high and value.isascii() and value.isalnum() and value == value.upper()


#: TA105 for an ISA or IEA element error, by element position (as pyx12's 999 writer maps them).
_ISA_ELEMENT_NOTES = {
    1: "010",
    2: "011",
    3: "012",
    4: "013",
    5: "005",
    6: "006",
    7: "007",
    8: "008",
    9: "014",
    10: "015",
    11: "016",
    12: "017",
    13: "018",
    14: "019",
    15: "020",
    16: "027",
}
_IEA_ELEMENT_NOTES = {1: "021", 2: "018"}
#: AK905 for a GS or GE element error, by element position (other positions: "1", group not supported).
_GS_ELEMENT_CODES = {("GS", 6): "6", ("GS", 8): "2", ("GE", 1): "5", ("GE", 2): "6"}
#: IK502 for an ST or SE element error, by element position.
_ST_ELEMENT_CODES = {("ST", 1): "6", ("ST", 2): "7", ("ST", 3): "19", ("SE", 1): "4", ("SE", 2): "7"}


def _element_codes(node: Mapping[str, Any], header: str, table: Mapping[tuple[str, int], str], other: str) -> list[str]:
    codes = []
    for ele in node.get("elements", []):
        if ele.get("errors"):
            codes.append(table.get((str(ele.get("seg_id") or header), int(ele.get("ele_pos") or 0)), other))
    return codes


def _interchange_notes(isa_doc: Mapping[str, Any]) -> list[str]:
    """TA105 codes for an interchange's findings: its errors' (a note of their own first), then its elements'."""
    notes = []
    for err in isa_doc.get("errors", []):
        code = str(err.get("note") or err.get("err_cde", "")).zfill(3)
        # 000 (no error) is what the bridge files when pyx12 stops: the content could not be checked.
        notes.append(code if code in INTERCHANGE_NOTES and code != "000" else NOTE_CONTENT)
    for ele in isa_doc.get("elements", []):
        if ele.get("errors"):
            table = _IEA_ELEMENT_NOTES if ele.get("seg_id") == "IEA" else _ISA_ELEMENT_NOTES
            notes.append(table.get(int(ele.get("ele_pos") or 0), NOTE_CONTENT))
    return notes


@dataclass
class Ack999Summary:
    """What a written 999 says."""

    interchange_control: int = 0
    groups: int = 0
    transactions: int = 0
    accepted: int = 0
    rejected: int = 0
    interchange_code: str | None = None  # TA104 when a TA1 was written
    #: Why no acknowledgment was written (the file holds no interchange a reply can be addressed to).
    unwritten: str | None = None

    @property
    def valid(self) -> bool:
        """Return True when every transaction set was accepted and no interchange error was found."""
        return self.unwritten is None and self.rejected == 0 and self.interchange_code in (None, "A")


def _el(elements: list[str], index: int) -> str:
    return elements[index].strip() if len(elements) > index else ""


def _group_code(accepted: int, received: int, errors: bool, any_e: bool) -> str:
    """Return AK901: rejected, partially accepted, accepted with errors, or accepted."""
    if errors or accepted == 0:
        return "R"
    if accepted < received:
        return "P"
    return "E" if any_e else "A"


class Ack999Writer:
    """Writes the 999 for one acknowledged file."""

    def __init__(
        self,
        out: TextIO,
        delimiters: Delimiters,
        control: ControlNumbers,
        now: dt.datetime,
        claims: Mapping[int, str] | None = None,
        include_values: bool = False,
    ) -> None:
        self.w = SegmentWriter(out, delimiters)
        self.d = delimiters
        self.control = control
        self.now = now
        self.claims = claims or {}
        self.include_values = include_values

    def write(self, doc: Mapping[str, Any], sources: list[SourceInterchange]) -> Ack999Summary:
        """Write the acknowledgment of every interchange ``doc`` reports on; return the totals.

        Interchanges in a row from the same sender to the same receiver are
        answered in one reply interchange: its TA1s first (X12 puts them between
        the ISA and the first GS), then a 999 group for each of their groups. A
        reply interchange's TA1s must come before any of its groups, so one reply
        per acknowledged interchange would put the second one's TA1 after a group.
        """
        summary = Ack999Summary()
        pairs = pair_interchanges(doc, sources)
        for _, batch in itertools.groupby(pairs, key=lambda pair: _partners(pair[1].isa)):
            self._reply(list(batch), summary)
        return summary

    def _reply(self, batch: list[tuple[Mapping[str, Any], SourceInterchange]], summary: Ack999Summary) -> None:
        """Write one reply interchange for interchanges with the same partners: TA1s, then 999 groups."""
        isa = batch[0][1].isa
        usage = _el(isa, 15)
        settings = EnvelopeSettings(
            sender_qualifier=_el(isa, 7),
            sender_id=_el(isa, 8),
            receiver_qualifier=_el(isa, 5),
            receiver_id=_el(isa, 6),
            sender_code="",
            receiver_code="",
            usage=usage if usage in ("I", "P", "T") else "T",
            ack_requested="0",
            delimiters=self.d,
        )
        isa13 = self.control.next_interchange()
        summary.interchange_control = isa13
        write_isa(self.w, settings, isa13, self.now)
        answered = []
        for isa_doc, source in batch:
            groups = [
                (gs_doc, source.groups.get(str(gs_doc.get("gs_control_num", "")), []))
                for gs_doc in isa_doc.get("groups", [])
            ]
            self._ta1(isa_doc, source.isa, groups, summary)
            answered.append([(gs_doc, gs) for gs_doc, gs in groups if gs and self._group_fits(gs_doc, gs)])
        written = 0
        for groups in answered:
            for gs_doc, gs in groups:
                written += 1
                gs06 = self.control.next_group()
                group_settings = EnvelopeSettings(
                    settings.sender_qualifier,
                    settings.sender_id,
                    settings.receiver_qualifier,
                    settings.receiver_id,
                    sender_code=_el(gs, 3),
                    receiver_code=_el(gs, 2),
                    delimiters=self.d,
                )
                write_gs(self.w, group_settings, gs06, self.now, VERSION_999, functional_id="FA")
                self._transaction(gs_doc, gs, summary)
                write_ge(self.w, 1, gs06)
        summary.groups += written
        write_iea(self.w, written, isa13)

    def _ta1(
        self,
        isa_doc: Mapping[str, Any],
        isa: list[str],
        groups: list[tuple[Mapping[str, Any], list[str]]],
        summary: Ack999Summary,
    ) -> None:
        """Write the interchange's TA1 when it has findings or asked for one (ISA14 1)."""
        notes = _interchange_notes(isa_doc)
        if any(gs and not self._group_fits(gs_doc, gs) for gs_doc, gs in groups):
            # A GS whose identifiers cannot be echoed in an AK1 cannot be acknowledged by a 999:
            # the interchange is rejected for it (TA105 024, "e.g. invalid GS segment").
            notes.append(NOTE_CONTENT)
        if notes or _el(isa, 14) == "1":
            code = "R" if notes else "A"
            self.w.segment("TA1", _el(isa, 13), _el(isa, 9), _el(isa, 10), code, notes[0] if notes else "000")
            if summary.interchange_code != "R":  # one rejected interchange is what the summary must say
                summary.interchange_code = code

    def _group_fits(self, gs_doc: Mapping[str, Any], gs: list[str]) -> bool:
        """Whether the group's GS02/GS03 (the reply's GS03/GS02) and AK1 values can be written as valid X12."""
        return (
            _fits(_el(gs, 2), self.d, 2, 15)
            and _fits(_el(gs, 3), self.d, 2, 15)
            and _code(self._fic(gs_doc, gs), 2, 2)
            and _el(gs, 6).isdigit()
            and len(_el(gs, 6)) <= 9
            and _fits(self._version(gs_doc, gs), self.d, 1, 12)
        )

    @staticmethod
    def _fic(gs_doc: Mapping[str, Any], gs: list[str]) -> str:
        return str(gs_doc.get("fic") or _el(gs, 1))

    @staticmethod
    def _version(gs_doc: Mapping[str, Any], gs: list[str]) -> str:
        return str(gs_doc.get("vriic") or _el(gs, 8))

    def _transaction(self, gs_doc: Mapping[str, Any], gs: list[str], summary: Ack999Summary) -> None:
        st02 = f"{self.control.next_transaction():04d}"
        self.w.reset_count()
        self.w.segment("ST", "999", st02, VERSION_999)
        version = self._version(gs_doc, gs)
        self.w.segment("AK1", self._fic(gs_doc, gs), _el(gs, 6), version)
        accepted = received = 0
        any_e = False
        for st in gs_doc.get("transactions", []):
            received += 1
            code = self._ak2(st, version)
            if code in TRANSACTION_ACCEPTED:
                accepted += 1
                any_e = any_e or code == "E"
        gs_errors = [str(e.get("err_cde", "")) for e in gs_doc.get("errors", [])]
        gs_errors += _element_codes(gs_doc, "GS", _GS_ELEMENT_CODES, "1")
        gs_errors = list(dict.fromkeys(gs_errors))
        included = _int(gs_doc.get("st_count_orig"))
        if included is None or not 0 <= included <= 999999:
            included = received  # GE01 was not a count AK902 can repeat; AK905 says so
        self.w.segment(
            "AK9",
            _group_code(accepted, received, bool(gs_errors), any_e),
            str(included),
            str(received),
            str(accepted),
            *gs_errors[:5],
        )
        self.w.segment("SE", str(self.w.count + 1), st02)
        summary.transactions += received
        summary.accepted += accepted
        summary.rejected += received - accepted

    def _ak2(self, st: Mapping[str, Any], version: str) -> str:
        """Write one transaction set's AK2 to IK5; return its IK501 (R, without an AK2, when it cannot be named)."""
        st01 = str(st.get("trn_set_id") or "")
        st02 = str(st.get("trn_set_control_num") or "").strip()
        if not (_code(st01, 3, 3) and _fits(st02, self.d, 4, 9)):
            # An AK2 must name the transaction set by ST01 and ST02: one that cannot be named is
            # counted in AK903 and not accepted in AK904, which rejects the group.
            return "R"
        st03 = str(st.get("vriic") or "")
        self.w.segment("AK2", st01, st02, st03 if _fits(st03, self.d, 1, 35) else version)
        segments = list(st.get("segments", []))
        for seg in segments:
            self._ik3(seg)
        st_errors = [str(e.get("err_cde", "")) for e in st.get("errors", [])]
        st_errors += _element_codes(st, "ST", _ST_ELEMENT_CODES, "5")
        st_errors = list(dict.fromkeys(st_errors))
        failed = bool(st_errors) or any(_has_errors(seg) for seg in segments)
        code = str(st.get("ack_code") or ("R" if failed else "A"))
        if code not in TRANSACTION_ACCEPTED and not st_errors:
            st_errors = ["5"] if failed else []
        elif code in TRANSACTION_ACCEPTED and st_errors:
            code = "R"  # an ST or SE element error pyx12 left out of its verdict
        self.w.segment("IK5", code, *st_errors[:5])
        return code

    def _ik3(self, seg: Mapping[str, Any]) -> None:
        seg_id = _segment_id(str(seg.get("seg_id") or ""))
        position = str(seg.get("seg_count") or "")
        loop = str(seg.get("ls_id") or "")
        if not _fits(loop, self.d, 1, 4):
            loop = ""
        claim = self.claims.get(int(seg.get("cur_line") or -1))
        if claim is not None and not _fits(claim, self.d, 1, 35):
            claim = None  # CTX is situational: left out rather than written invalid
        codes = [_segment_code(str(e.get("err_cde", ""))) for e in seg.get("errors", [])]
        elements = [e for e in seg.get("elements", []) if e.get("errors")]
        if elements and "8" not in codes:
            codes.append("8")
        for code in dict.fromkeys(codes):
            self.w.segment("IK3", seg_id, position, loop, code)
            if claim is not None:
                self.w.segment("CTX", self.w.composite("CLM01", claim))
            if code == "8":
                for ele in elements:
                    self._ik4(ele)

    def _ik4(self, ele: Mapping[str, Any]) -> None:
        pos = self.w.composite(
            str(ele.get("ele_pos") or ""),
            str(ele.get("subele_pos") or ""),
            str(ele.get("repeat_pos") or ""),
        )
        for err in ele.get("errors", []):
            value = str(err.get("err_val") or "") if self.include_values else ""
            if not _fits(value[:99], self.d, 1, 99):
                value = ""  # a value holding a separator or a byte that is not ASCII cannot be copied
            code = str(err.get("err_cde", ""))
            if code in ELEMENT_CODES:  # as pyx12's 999 writer: a code X12 does not have is left out
                self.w.segment("IK4", pos, str(ele.get("ele_ref_num") or ""), code, value[:99])


def _partners(isa: list[str]) -> tuple[str, ...]:
    """The sender, receiver and usage of an interchange: what its reply's ISA is made of."""
    return tuple(_el(isa, n) for n in (5, 6, 7, 8, 15))


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _segment_code(code: str) -> str:
    """Return an IK304 code for a pyx12 segment code: its own when X12 has it, else 8.

    pyx12 files HL and LX numbering (HL1, HL2, LX) and trailing separators (SEG1)
    under codes of its own; its 999 writer reports SEG1 as 8 (the segment has data
    element errors). The numbering codes are errors in HL01, HL02 and LX01, so 8 too.
    """
    return code if code in SEGMENT_CODES or code in ("I4", "I6", "I7", "I8", "I9") else "8"


def _segment_id(seg_id: str) -> str:
    """Return an IK301 for a segment ID as read: itself when X12 allows it (2-3 capitals or digits).

    An unreadable ID (a line break or a lost separator inside it) keeps its letters
    and digits, at most three; with fewer than two, ``ZZZ`` stands for it (IK302
    still gives the segment's position, and IK304 code 1 says the ID was unrecognized).
    """
    if _code(seg_id, 2, 3):
        return seg_id
    kept = "".join(c for c in seg_id if c.isascii() and c.isalnum()).upper()[:3]
    return kept if len(kept) >= 2 else "ZZZ"


def _has_errors(seg: Mapping[str, Any]) -> bool:
    return bool(seg.get("errors")) or any(e.get("errors") for e in seg.get("elements", []))


def segment_lines(doc: Mapping[str, Any]) -> Iterator[int]:
    """Yield the file segment numbers of every segment with a finding (to look up their claims)."""
    for isa in doc.get("interchanges", []):
        for gs in isa.get("groups", []):
            for st in gs.get("transactions", []):
                for seg in st.get("segments", []):
                    if seg.get("cur_line") is not None:
                        yield int(seg["cur_line"])
