"""Write a 999 implementation acknowledgment (005010X231A1) for an X12 file, from pyx12's findings.

pyx12 can write a 999 itself, but puts its TA1 after the functional group,
takes its control numbers from the wall clock and leaves out the context that
tells an analyst which claim a segment error belongs to. This writer builds the
999 from pyx12's findings instead: the TA1 (when one is due) right after the ISA,
control numbers and clock injected, and a business-unit CTX (``CLM01``) naming
the claim of every segment error inside a claim. Bad values (IK404) are left out
unless asked for: they can be member data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sendpro.x12.ackcodes import TRANSACTION_ACCEPTED
from sendpro.x12.envelope import ControlNumbers, EnvelopeSettings, write_ge, write_gs, write_iea, write_isa
from sendpro.x12.scan import iter_segments
from sendpro.x12.segments import Delimiters, SegmentWriter

#: The 999's implementation guide.
VERSION_999 = "005010X231A1"


@dataclass
class SourceInterchange:
    """The envelope of one interchange of the acknowledged file."""

    isa: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)  # GS06 -> GS elements


def read_envelopes(path: Path) -> tuple[Delimiters, list[SourceInterchange]]:
    """Return the file's delimiters and the ISA/GS segments of each interchange (streaming)."""
    with path.open("r", encoding="ascii", errors="replace", newline="") as handle:
        head = handle.read(106)
    if len(head) < 106 or not head.startswith("ISA"):
        raise ValueError(f"{path.name} does not start with an ISA segment")
    element, component, terminator = head[3], head[104], head[105]
    repetition = head[82]
    if repetition.isalnum() or repetition.isspace() or repetition in (element, component, terminator):
        # A 4010-style ISA11 ("U") is no separator: pick one the file does not use.
        repetition = next(c for c in "^|!{" if c not in (element, component, terminator))
    delimiters = Delimiters(element, component, repetition, terminator)
    interchanges: list[SourceInterchange] = []
    for _, el in iter_segments(path):
        if el[0] == "ISA":
            interchanges.append(SourceInterchange(el))
        elif el[0] == "GS" and interchanges and len(el) > 6:
            interchanges[-1].groups[el[6]] = el
    return delimiters, interchanges


@dataclass
class Ack999Summary:
    """What a written 999 says."""

    interchange_control: int = 0
    groups: int = 0
    transactions: int = 0
    accepted: int = 0
    rejected: int = 0
    interchange_code: str | None = None  # TA104 when a TA1 was written

    @property
    def valid(self) -> bool:
        """Return True when every transaction set was accepted and no interchange error was found."""
        return self.rejected == 0 and self.interchange_code in (None, "A")


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
        """Write one 999 interchange per acknowledged interchange; return the totals."""
        summary = Ack999Summary()
        for isa_doc, source in zip(doc.get("interchanges", []), sources, strict=False):
            self._interchange(isa_doc, source, summary)
        return summary

    def _interchange(self, isa_doc: Mapping[str, Any], source: SourceInterchange, summary: Ack999Summary) -> None:
        isa = source.isa
        settings = EnvelopeSettings(
            sender_qualifier=_el(isa, 7),
            sender_id=_el(isa, 8),
            receiver_qualifier=_el(isa, 5),
            receiver_id=_el(isa, 6),
            sender_code="",
            receiver_code="",
            usage=_el(isa, 15) or "T",
            ack_requested="0",
            delimiters=self.d,
        )
        isa13 = self.control.next_interchange()
        summary.interchange_control = isa13
        write_isa(self.w, settings, isa13, self.now)
        errors = [str(e.get("err_cde", "")) for e in isa_doc.get("errors", [])]
        if errors or _el(isa, 14) == "1":
            # TA1 right after the ISA, where X12 puts it.
            code = "R" if errors else "A"
            note = errors[0].zfill(3) if errors else "000"
            self.w.segment("TA1", _el(isa, 13), _el(isa, 9), _el(isa, 10), code, note)
            summary.interchange_code = code
        groups = 0
        for gs_doc in isa_doc.get("groups", []):
            gs = source.groups.get(str(gs_doc.get("gs_control_num", "")), [])
            if not gs:
                continue
            groups += 1
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
        summary.groups += groups
        write_iea(self.w, groups, isa13)

    def _transaction(self, gs_doc: Mapping[str, Any], gs: list[str], summary: Ack999Summary) -> None:
        st02 = f"{self.control.next_transaction():04d}"
        self.w.reset_count()
        self.w.segment("ST", "999", st02, VERSION_999)
        version = str(gs_doc.get("vriic") or _el(gs, 8))
        self.w.segment("AK1", str(gs_doc.get("fic") or _el(gs, 1)), _el(gs, 6), version)
        accepted = received = 0
        any_e = False
        for st in gs_doc.get("transactions", []):
            received += 1
            code = self._ak2(st, version)
            if code in TRANSACTION_ACCEPTED:
                accepted += 1
                any_e = any_e or code == "E"
        gs_errors = [str(e.get("err_cde", "")) for e in gs_doc.get("errors", [])]
        included = int(gs_doc.get("st_count_orig") or received)
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
        self.w.segment(
            "AK2", str(st.get("trn_set_id") or ""), str(st.get("trn_set_control_num") or ""), st.get("vriic") or version
        )
        segments = list(st.get("segments", []))
        for seg in segments:
            self._ik3(seg)
        st_errors = [str(e.get("err_cde", "")) for e in st.get("errors", [])]
        failed = bool(st_errors) or any(_has_errors(seg) for seg in segments)
        code = str(st.get("ack_code") or ("R" if failed else "A"))
        if code not in TRANSACTION_ACCEPTED and not st_errors:
            st_errors = ["5"] if failed else []
        self.w.segment("IK5", code, *st_errors[:5])
        return code

    def _ik3(self, seg: Mapping[str, Any]) -> None:
        seg_id = str(seg.get("seg_id") or "")
        position = str(seg.get("seg_count") or "")
        loop = str(seg.get("ls_id") or "")
        claim = self.claims.get(int(seg.get("cur_line") or -1))
        codes = [str(e.get("err_cde", "")) for e in seg.get("errors", [])]
        elements = [e for e in seg.get("elements", []) if e.get("errors")]
        if elements and "8" not in codes:
            codes.append("8")
        for code in codes:
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
            if any(c in value for c in self.d.chars):
                value = ""  # a value holding a separator cannot be copied into the 999
            self.w.segment("IK4", pos, str(ele.get("ele_ref_num") or ""), str(err.get("err_cde", "")), value[:99])


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
