"""Build synthetic acknowledgment files (277CA / 277 X364, 999, TA1) for round-trip tests, and cut them short.

The 277s follow the 005010X214 loop structure (2000A information source, 2000B
receiver with control totals, 2000C billing provider, 2000D patient with the
claim's TRN*2 = CLM01 and STC). Every identifier is synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ClaimStatus:
    """One claim in a test 277."""

    claim_id: str
    category: str  # A2 accepted, A7 rejected, ...
    status: str  # STC01-2
    charge: Decimal
    entity: str = ""
    payer_claim_id: str = ""


def _isa(sender: tuple[str, str], receiver: tuple[str, str], control: int, ack_requested: str = "0") -> str:
    return (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*{sender[0]}*{sender[1]:<15}*{receiver[0]}*{receiver[1]:<15}"
        f"*261124*1200*^*00501*{control:09d}*{ack_requested}*T*:~"
    )


def build_277(
    claims: list[ClaimStatus],
    receiver: tuple[str, str],
    receiver_code: str,
    version: str = "005010X214",
    control: int = 777,
    totals: tuple[int, int, Decimal, Decimal] | None = None,
) -> str:
    """Return a 277 claim acknowledgment for ``claims`` sent to ``receiver`` (ISA07/ISA08 = our ISA05/ISA06).

    ``totals`` overrides the 2200B control totals (accepted, rejected, accepted $, rejected $).
    """
    rejected = [c for c in claims if c.category not in ("A1", "A2")]
    accepted = [c for c in claims if c.category in ("A1", "A2")]
    if totals is None:
        totals = (
            len(accepted),
            len(rejected),
            sum((c.charge for c in accepted), Decimal(0)),
            sum((c.charge for c in rejected), Decimal(0)),
        )
    total = sum((c.charge for c in claims), Decimal(0))
    body = [
        "BHT*0085*08*ACKBATCH1*20261124*1200*TH~",
        "HL*1**20*1~",
        "NM1*PR*2*SYNTHETIC MEDICAID*****PI*SYNPAYER~",
        "TRN*1*ACK0001~",
        "DTP*050*D8*20261124~",
        "DTP*009*D8*20261124~",
        "HL*2*1*21*1~",
        "NM1*41*2*SYNTHETIC MCE*****46*SYNMCE~",
        "TRN*2*SUBMITTEDBATCH~",
        f"STC*A1:19*20261124*WQ*{total}~",
        f"QTY*90*{totals[0]}~",
        f"QTY*AA*{totals[1]}~",
        f"AMT*YU*{totals[2]}~",
        f"AMT*YY*{totals[3]}~",
        "HL*3*2*19*1~",
        "NM1*85*2*SYNTHETIC CLINIC*****XX*1234567893~",
        "TRN*1*0~",
        f"STC*A1:19**WQ*{total}~",
        f"QTY*QA*{totals[0]}~",
        f"QTY*QC*{totals[1]}~",
        f"AMT*YU*{totals[2]}~",
        f"AMT*YY*{totals[3]}~",
    ]
    hl = 3
    for c in claims:
        hl += 1
        action = "WQ" if c in accepted else "U"
        code = ":".join(p for p in (c.category, c.status, c.entity) if p)
        body += [
            f"HL*{hl}*3*PT~",
            "NM1*QC*1*SYNTHETIC*PATIENT****MI*SYNMEMBER~",
            f"TRN*2*{c.claim_id}~",
            f"STC*{code}*20261124*{action}*{c.charge}~",
        ]
        if c.payer_claim_id:
            body.append(f"REF*1K*{c.payer_claim_id}~")
        body.append("DTP*472*D8*20260301~")
    st = ["ST*277*0001*" + version + "~", *body]
    st.append(f"SE*{len(st) + 1}*0001~")
    return (
        "\n".join(
            [
                _isa(("ZZ", "SYNRECEIVER"), receiver, control),
                f"GS*HN*SYNRECEIVER*{receiver_code}*20261124*1200*{control}*X*{version}~",
                *st,
                f"GE*1*{control}~",
                f"IEA*1*{control:09d}~",
            ]
        )
        + "\n"
    )


def build_ta1(isa13: int, code: str, note: str, receiver: tuple[str, str], control: int = 555) -> str:
    """Return an interchange holding only a TA1 for interchange ``isa13``."""
    return (
        "\n".join(
            [
                _isa(("ZZ", "SYNRECEIVER"), receiver, control),
                f"TA1*{isa13:09d}*261123*1030*{code}*{note}~",
                f"IEA*0*{control:09d}~",
            ]
        )
        + "\n"
    )


def build_999(group: int, transactions: list[tuple[str, str]], receiver: tuple[str, str], control: int = 999) -> str:
    """Return a 999 for functional group ``group`` (AK102): one AK2/IK5 per ``(ST02, IK501)``."""
    accepted = sum(code in ("A", "E") for _, code in transactions)
    body = ["ST*999*0001*005010X231A1~", f"AK1*HC*{group}*005010X222A1~"]
    for st02, code in transactions:
        body += [f"AK2*837*{st02}*005010X222A1~", f"IK5*{code}~"]
    verdict = "A" if accepted == len(transactions) else "R" if not accepted else "P"
    body.append(f"AK9*{verdict}*{len(transactions)}*{len(transactions)}*{accepted}~")
    body.append(f"SE*{len(body) + 1}*0001~")
    return (
        "\n".join(
            [
                _isa(("ZZ", "SYNRECEIVER"), receiver, control),
                f"GS*FA*SYNRECEIVER*PLACEHOLDER*20261124*1200*{control}*X*005010X231A1~",
                *body,
                f"GE*1*{control}~",
                f"IEA*1*{control:09d}~",
            ]
        )
        + "\n"
    )


def segment_ends(text: str) -> list[int]:
    """Return the offset just after each segment terminator (``~``) of ``text``: where to cut between segments."""
    return [i + 1 for i, ch in enumerate(text) if ch == "~"]


def cut_after(text: str, segment_id: str, nth: int = 1) -> str:
    """Return ``text`` up to and including the ``nth`` segment whose id is ``segment_id`` (and its line break)."""
    seen = 0
    for end in segment_ends(text):
        start = text.rfind("~", 0, end - 1) + 1
        if text[start:end].strip().split("*")[0] == segment_id:
            seen += 1
            if seen == nth:
                return text[:end] + "\n"
    raise AssertionError(f"no {segment_id} #{nth} in the text")
