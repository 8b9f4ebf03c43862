"""One regular expression per segment node, built from the compiled map for a file's separators.

A pattern accepts a segment's text (without its terminator) only when pyx12's
segment check would find nothing wrong with it: element count, usage (required,
situational, not used), lengths, character set, data types (AN, ID and their code
lists, N, R, DT, TM, DTP03 by DTP02, 1251 by its 1250 qualifier), composites and
their components. Syntax rules (P, R, C, L, E) and the map's own regular
expressions are checked after the match (:class:`SegmentCheck`), because they
relate elements to each other or search within one.

Patterns are conservative by construction: every branch describes values that
pyx12's checks accept, and anything else (an unusual type or length, a date
outside 1800-2199, a value with trailing spaces) simply does not match. A
segment that does not match is not an error: it is handed to pyx12's own checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sendpro.x12.validator.compiler import ElementSpec, NodeSpec, ValueSpec

# pyx12's extended character set (validation.rec_ID_E; rec_ID_E5 adds ^ and ` for 00501).
_PLAIN_E = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!\"&'()*+,-./:;?= %~@[]_{}\\|<>#$")

_MMDD = (
    "(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))"
)


def _leap_years(first: int, last: int) -> list[str]:
    return [f"{y:04d}" for y in range(first, last + 1) if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)]


# pyx12 accepts years from 1800; the pattern stops at 2199 (a later year goes to pyx12's own check).
DATE8 = f"(?:(?:1[89]|2[01])[0-9]{{2}}{_MMDD}|(?:{'|'.join(_leap_years(1800, 2199))})0229)"
# Six digits: YY below 50 is 20YY, else 19YY (pyx12's rule); every YY divisible by 4 is then a leap year.
DATE6 = f"(?:[0-9]{{2}}{_MMDD}|(?:[02468][048]|[13579][26])0229)"
_TIME = "(?:[01][0-9]|2[0-3])[0-5][0-9](?:[0-5][0-9][0-9]{0,2})?"


@dataclass(frozen=True, slots=True)
class Separators:
    """A file's element, component and segment separators."""

    element: str
    component: str
    segment: str


_Trie = dict[str, "_Trie"]


def _trie(codes: Sequence[str]) -> str:
    """Return an alternation of ``codes`` factored by common prefixes (Python's re does not do it)."""
    if len(codes) <= 6:
        return "(?:" + "|".join(re.escape(c) for c in sorted(codes, key=lambda c: (-len(c), c))) + ")"
    tree: _Trie = {}
    for code in codes:
        node = tree
        for ch in code:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        ends = "" in node
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?"
        return body

    return "(?:" + emit(tree) + ")"


class PatternBuilder:
    """Builds value and segment patterns for one map (its character set) and one file's separators."""

    def __init__(self, icvn: str, seps: Separators, isa: bool = False) -> None:
        self.seps = seps
        # pyx12 parses ISA's elements without components: its component separator is a plain value there.
        banned = {seps.element, seps.segment} if isa else {seps.element, seps.component, seps.segment}
        self.banned = banned
        extra = "^`" if icvn == "00501" else ""
        allowed = (_PLAIN_E | set(extra)) - banned
        self.allowed = allowed
        cls = "".join(re.escape(c) for c in sorted(allowed))
        self.any = f"[{cls}]"
        self.nospace = f"[{''.join(re.escape(c) for c in sorted(allowed - {' '}))}]"

    # -- values ------------------------------------------------------------------------------------

    def _text(self, lo: int, hi: int) -> str | None:
        """AN/ID text of lo..hi characters that pyx12 accepts (no control characters, no trailing space)."""
        lo = max(lo, 1)
        if hi < lo:
            return None
        if lo == hi:
            # A trailing space is only an error when the value without it still reaches min_len,
            # which a full-width value never does once a space is stripped.
            return f"{self.any}{{{lo}}}"
        return f"{self.any}{{{lo - 1},{hi - 1}}}{self.nospace}"

    def _codes(self, codes: Sequence[str]) -> str | None:
        usable = [c for c in codes if c and not (set(c) & self.banned)]
        return _trie(usable) if usable else None

    def _format(self, fmt: str, lo: int, hi: int) -> str | None:
        """A 1250 format (D8, RD8) as a value of an AN element of lo..hi characters."""
        if fmt == "D8" and lo <= 8 <= hi:
            return DATE8
        if fmt == "RD8" and lo <= 17 <= hi and "-" not in self.banned:
            return f"{DATE8}-{DATE8}"
        if fmt == "TM" and lo <= 4 and hi >= 8:
            return _TIME
        if fmt == "DT" and lo <= 6 and hi >= 12:
            # pyx12's DT: six digits (YYMMDD), eight (CCYYMMDD) or twelve (CCYYMMDDHHMM).
            return f"(?:{DATE8}(?:(?:[01][0-9]|2[0-3])[0-5][0-9])?|{DATE6})"
        if fmt == "D6" and lo <= 6 <= hi:
            return DATE6
        return None

    def value(self, v: ValueSpec, fmt: str | None = None) -> str | None:
        """Return a pattern for a non-empty value pyx12 accepts for ``v`` (None: none can be expressed).

        ``fmt`` is DTP02's qualifier for DTP03 (pyx12 checks the date format it names).
        """
        if v.codes is not None:
            return self._codes(v.codes)
        if fmt is not None or v.formats:
            if v.kind not in ("AN", "ID"):
                return None
            formats = [fmt] if fmt is not None else list(v.formats)
            pats = [p for p in (self._format(f, v.min_len, v.max_len) for f in formats) if p]
            if not pats:
                return None
            return pats[0] if len(pats) == 1 else "(?:" + "|".join(pats) + ")"
        if v.kind in ("AN", "ID"):
            return self._text(v.min_len, v.max_len)
        if v.kind == "N":
            if "-" in self.banned:
                return f"[0-9]{{{max(v.min_len, 1)},{v.max_len}}}"
            return f"-?[0-9]{{{max(v.min_len, 1)},{v.max_len}}}"
        if v.kind == "R":
            if {"-", "."} & self.banned:
                return None
            # pyx12 measures R without its sign and decimal point.
            return f"-?(?=(?:[0-9]\\.?){{{max(v.min_len, 1)},{v.max_len}}}(?![0-9.]))[0-9]+(?:\\.[0-9]+)?"
        if v.kind == "DT":
            if (v.min_len, v.max_len) == (8, 8):
                return DATE8
            if (v.min_len, v.max_len) == (6, 6):
                return DATE6
            return None
        if v.kind == "TM":
            return f"(?=[0-9]{{{max(v.min_len, 1)},{v.max_len}}}(?![0-9])){_TIME}"
        return None

    # -- segments ----------------------------------------------------------------------------------

    def _simple(self, e: ElementSpec, fmt: str | None = None) -> tuple[str | None, bool]:
        """Return (pattern of the element when present, may it be absent)."""
        if e.usage == "N":
            return "", True
        v = self.value(e.values[0], fmt)
        if e.usage == "R":
            return v, False
        return (f"(?:{v})?" if v is not None else ""), True

    def _composite(self, e: ElementSpec) -> tuple[str | None, bool]:
        if e.usage == "N":
            return "", True
        sub = re.escape(self.seps.component)
        pats: list[str | None] = []
        empty_ok: list[bool] = []
        for j, (v, usage) in enumerate(zip(e.values, e.component_usage, strict=True)):
            # pyx12: an empty required component is an error, except the first of a situational composite.
            ok = not (usage == "R" and (j > 0 or e.usage == "R"))
            # A component marked not used may only be empty.
            p = None if usage == "N" else self.value(v)
            if p is None:
                pats.append("" if ok else None)
            else:
                pats.append(f"(?:{p})?" if ok else p)
            empty_ok.append(ok)
        if pats[0] is None:
            return (None, False) if e.usage == "R" else ("", True)
        tail = ""
        for j in range(len(pats) - 1, 0, -1):
            p = pats[j]
            optional = all(empty_ok[j:])
            if p is None:
                if optional:
                    tail = ""  # the component cannot be present; nothing after it either
                    continue
                return (None, False) if e.usage == "R" else ("", True)
            tail = f"(?:{sub}{p}{tail})" + ("?" if optional else "")
        comps = pats[0] + tail
        ele = re.escape(self.seps.element)
        if e.usage == "R":
            if empty_ok[0]:
                comps = f"(?!{sub}*(?:{ele}|\\Z)){comps}"
            return comps, False
        return f"(?:{comps})?", True

    def segment(self, node: NodeSpec) -> str | None:
        """Return the pattern of ``node``'s segment text, or None when it can never be checked fast."""
        ele = re.escape(self.seps.element)
        if node.id == "DTP" and len(node.elements) == 3 and not node.elements[1].composite:
            return self._dtp(node)
        parts: list[tuple[str | None, bool]] = [
            self._composite(e) if e.composite else self._simple(e) for e in node.elements
        ]
        return self._assemble(node.id, parts, ele)

    def _assemble(self, seg_id: str, parts: list[tuple[str | None, bool]], ele: str) -> str | None:
        tail = ""
        for i in range(len(parts) - 1, -1, -1):
            pat, absent_ok = parts[i]
            optional = all(a for _, a in parts[i:])
            if pat is None:
                if optional:
                    tail = ""  # the element can never be present: the segment must end before it
                    continue
                return None
            tail = f"(?:{ele}{pat}{tail})" + ("?" if optional else "")
        return re.escape(seg_id) + tail

    def _dtp(self, node: NodeSpec) -> str | None:
        """DTP: pyx12 checks DTP03 by the format DTP02 names (D8, RD8, ...)."""
        ele = re.escape(self.seps.element)
        e1, e2, e3 = node.elements
        q = e2.values[0]
        quals = list(q.codes) if q.codes is not None else None
        if quals is None or e2.usage != "R" or e3.usage != "R":
            return None
        first = self._simple(e1)
        if first[0] is None:
            return None
        branches = []
        for code in quals:
            if set(code) & self.banned:
                continue
            fmt = code if code in ("RD8", "D8", "D6", "DT", "TM") else None
            p3 = self.value(e3.values[0], fmt) if fmt is not None else self.value(e3.values[0])
            if p3 is None:
                continue
            branches.append(f"{re.escape(code)}{ele}{p3}")
        if not branches:
            return None
        return f"DTP{ele}{first[0]}{ele}(?:{'|'.join(branches)})"


@dataclass(frozen=True, slots=True)
class SegmentCheck:
    """The fast check of one segment node: its compiled pattern and its after-match checks."""

    pattern: re.Pattern[str] | None
    #: Syntax rules (pyx12's lists) when the segment has any.
    syntax: tuple[tuple[object, ...], ...]
    #: (element index, component index or -1, compiled map regex) for elements the map gives a regex.
    searches: tuple[tuple[int, int, re.Pattern[str]], ...]
    #: Syntax verdicts by which elements are present (the rules depend on nothing else).
    syntax_memo: dict[tuple[bool, ...], bool] = field(default_factory=dict)


def build_check(node: NodeSpec, builder: PatternBuilder) -> SegmentCheck:
    """Compile the fast check of a segment node."""
    text = builder.segment(node)
    searches: list[tuple[int, int, re.Pattern[str]]] = []
    for i, e in enumerate(node.elements):
        for j, v in enumerate(e.values):
            if v.res:
                try:
                    searches.append((i, j if e.composite else -1, re.compile(v.res, re.S)))
                except re.error:
                    text = None
    return SegmentCheck(re.compile(text, re.S) if text is not None else None, node.syntax, tuple(searches))


def syntax_ok(parts: Sequence[str], rules: Sequence[Sequence[object]], component: str) -> bool:
    """Return whether a segment's elements (``parts[0]`` is the id) satisfy its syntax rules.

    The same reading as pyx12's ``is_syntax_valid``: an element is present when it
    exists and is not empty; a composite whose components are all empty is absent.
    """
    n = len(parts) - 1

    def present(i: object) -> bool:
        k = int(str(i))
        return k <= n and parts[k].strip(component) != ""

    for rule in rules:
        code, idx = rule[0], rule[1:]
        if len(idx) < 2:
            return False
        if code == "P":
            c = sum(1 for i in idx if present(i))
            if c not in (0, len(idx)):
                return False
        elif code == "R":
            if not any(present(i) for i in idx):
                return False
        elif code == "E":
            if sum(1 for i in idx if present(i)) > 1:
                return False
        elif code == "C":
            if present(idx[0]) and not all(present(i) for i in idx[1:]):
                return False
        elif code == "L":
            if present(idx[0]) and not any(present(i) for i in idx[1:]):
                return False
        else:
            return False
    return True
