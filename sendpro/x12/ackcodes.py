"""Acknowledgment code lists (X12 TA1, 999 and 277), with readable meanings, and the display of reasons.

Facts from the X12 standards; the lists are small (or, for the claim status
codes, a chosen part of a large one), so they live here rather than in data files.
Sources:

* TA104 / TA105 (interchange acknowledgment and note codes), IK304 (segment
  syntax errors), IK403 (element syntax errors), IK501 / IK502-IK506
  (transaction set acknowledgment and errors), AK901 (functional group
  acknowledgment): the ASC X12 005010X231A1 Implementation Acknowledgment (999)
  and the X12 control segments (TA1).
* STC01-1 claim status category codes: X12 external code list 507, "Claim Status
  Category Codes" (https://x12.org/codes/claim-status-category-codes), every code
  in the list as of 2024.
* STC01-2 claim status codes: X12 external code list 508, "Claim Status Codes"
  (https://x12.org/codes/claim-status-codes). The list has some 800 entries; kept
  here are those a 277CA commonly gives when it rejects or accepts an encounter
  (missing or invalid data, member, provider and coding problems). Codes not kept
  print as the code alone.
* STC01-3 entity identifier codes: X12 element 98, the entities a 277CA names.

The texts are short names, written in our own words where a list's wording is a
sentence with usage notes. The ledger stores what the acknowledgment said (codes,
and the short texts sendpro recorded then); :func:`explain_reason` turns a stored
reason into text for people at display time, codes first, so a ledger written by
an older version reads the same way.
"""

from __future__ import annotations

import re

#: IK304: segment syntax error codes.
SEGMENT_CODES = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
}
#: IK403: element syntax error codes.
ELEMENT_CODES = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}
#: IK501: transaction set acknowledgment codes.
TRANSACTION_ACK = {
    "A": "accepted",
    "E": "accepted, but errors were noted",
    "M": "rejected, message authentication code failed",
    "R": "rejected",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analyzed",
}
#: IK501 codes that accept the transaction set.
TRANSACTION_ACCEPTED = frozenset({"A", "E"})
#: IK502-IK506: transaction set syntax error codes.
TRANSACTION_ERRORS = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "8": "authentication key name unknown",
    "9": "encryption key name unknown",
    "10": "requested service (authentication or encryption) not available",
    "11": "unknown security recipient",
    "12": "incorrect message length (encryption only)",
    "13": "message authentication code failed",
    "15": "unknown security originator",
    "16": "syntax error in decrypted text",
    "17": "security not supported",
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "24": "S3E security end segment missing for S3S security start segment",
    "25": "S3S security start segment missing for S3E security end segment",
    "26": "S4E security end segment missing for S4S security start segment",
    "27": "S4S security start segment missing for S4E security end segment",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}
#: AK901: functional group acknowledgment codes.
GROUP_ACK = {
    "A": "accepted",
    "E": "accepted, but errors were noted",
    "M": "rejected, message authentication code failed",
    "P": "partially accepted, at least one transaction set was rejected",
    "R": "rejected",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content after decryption could not be analyzed",
}
#: TA104: interchange acknowledgment codes.
INTERCHANGE_ACK = {
    "A": "accepted with no errors",
    "E": "accepted, errors noted",
    "R": "rejected because of errors",
}
#: TA105: interchange note codes.
INTERCHANGE_NOTES = {
    "000": "no error",
    "001": "the interchange control number in the header and trailer do not match",
    "002": "this standard as noted in the control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file (transmission)",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}
#: STC01-1: claim status category codes (X12 code list 507), used by claim acknowledgments (277CA, 277 X364).
CLAIM_CATEGORIES = {
    "A0": "forwarded to another entity",
    "A1": "received",
    "A2": "accepted into the adjudication or reporting system",
    "A3": "returned as unprocessable claim",
    "A4": "not found",
    "A5": "split",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for relational field in error",
    "P0": "pending: adjudication details",
    "P1": "pending: in process",
    "P2": "pending: payer review",
    "P3": "pending: information requested from the provider",
    "P4": "pending: information requested from the patient",
    "P5": "pending: payer administrative or system hold",
    "F0": "finalized",
    "F1": "finalized: payment",
    "F2": "finalized: denial",
    "F3": "finalized: revised",
    "F3F": "finalized: forwarded",
    "F3N": "finalized: not forwarded",
    "F4": "finalized: adjudication complete, no payment forthcoming",
    "R0": "requests for additional information: general requests",
    "R1": "requests for additional information: entity requests",
    "R3": "requests for additional information: claim or line",
    "R4": "requests for additional information: documentation",
    "R5": "requests for additional information: more specific detail",
    "R6": "requests for additional information: regulatory requirements",
    "R7": "requests for additional information: confirm care is consistent with policy coverage",
    "R8": "requests for additional information: confirm care is consistent with coverage exceptions",
    "R9": "requests for additional information: determination of medical necessity",
    "R10": "requests for additional information: support a filed grievance or appeal",
    "R11": "requests for additional information: pre-payment review of claims",
    "R12": "requests for additional information: clarify or justify a procedure code",
    "R13": "requests for additional information: original documents not readable",
    "R14": "requests for additional information: documents received are not what was requested",
    "R15": "requests for additional information: workers' compensation coverage verification",
    "R16": "requests for additional information: eligibility determination",
    "R17": "replacement of a prior request",
    "E0": "response not possible: error on submitted request data",
    "E1": "response not possible: system status",
    "E2": "information holder is not responding: resubmit later",
    "E3": "correction required: relational fields in error",
    "E4": "trading partner agreement requirement not met: data correction required",
    "D0": "data search unsuccessful",
    "RQ": "general questions (yes/no responses)",
}
#: Categories that accept the encounter.
CLAIM_ACCEPTED = frozenset({"A2"})
#: Categories that only confirm receipt (the encounter waits for acceptance).
CLAIM_RECEIVED = frozenset({"A0", "A1", "A5"})
#: Categories that reject the encounter: it must be fixed and sent again.
CLAIM_REJECTED = frozenset({"A3", "A4", "A6", "A7", "A8", "E0"})

#: STC01-2: claim status codes (X12 code list 508), the part a 277CA commonly uses (see the module docstring).
CLAIM_STATUS_CODES = {
    "0": "cannot provide further status electronically",
    "1": "see the remittance advice for details",
    "2": "details in a letter",
    "3": "adjudicated, awaiting the payment cycle",
    "6": "balance due from the subscriber",
    "12": "one or more submitted procedure codes were combined",
    "15": "one or more submitted procedure codes were modified",
    "16": "forwarded to the entity",
    "17": "forwarded by a third party to the entity",
    "18": "the entity received the claim but returned an invalid status",
    "19": "the entity acknowledges receipt",
    "20": "accepted for processing",
    "21": "missing or invalid information",
    "23": "returned to the entity",
    "24": "entity not approved as an electronic submitter",
    "25": "entity not approved",
    "26": "entity not found",
    "27": "policy canceled",
    "29": "subscriber and policy or contract number mismatched",
    "30": "subscriber and subscriber id mismatched",
    "31": "subscriber and policyholder name mismatched",
    "32": "subscriber and policy or contract number not found",
    "33": "subscriber and subscriber id not found",
    "34": "subscriber and policyholder name not found",
    "35": "claim or encounter not found",
    "54": "duplicate of a claim or line already processed",
    "78": "duplicate of a claim or line awaiting processing",
    "84": "service not authorized",
    "85": "entity not primary",
    "86": "diagnosis and patient gender mismatch",
    "88": "entity not eligible for benefits on the dates of service",
    "90": "entity not eligible for medical benefits on the dates of service",
    "91": "entity not eligible or not approved for the dates of service",
    "96": "no agreement with the entity",
    "97": "patient eligibility not found with the entity",
    "101": "processed as an adjustment to a previous claim",
    "109": "entity not eligible",
    "116": "submitted to the wrong payer",
    "121": "more service lines than the payer allows",
    "123": "additional information requested from the entity",
    "124": "entity's name, address, phone and id number",
    "125": "entity's name",
    "126": "entity's address",
    "127": "entity's communication number",
    "128": "entity's tax id",
    "132": "entity's Medicaid provider id",
    "135": "entity's commercial provider id",
    "142": "entity's license or certification number",
    "143": "entity's state license number",
    "145": "entity's specialty or taxonomy code",
    "153": "entity's id number",
    "155": "entity's relationship to the patient",
    "156": "patient's relationship to the subscriber",
    "157": "entity's gender",
    "158": "entity's date of birth",
    "159": "entity's date of death",
    "163": "entity's policy or group number",
    "164": "entity's contract or member number",
    "178": "submitted charges",
    "187": "date(s) of service",
    "188": "statement from-through dates",
    "189": "facility admission date",
    "190": "facility discharge date",
    "216": "drug information",
    "218": "NDC number",
    "219": "prescription number",
    "228": "type of bill",
    "229": "admission source",
    "230": "admission hour",
    "231": "admission type",
    "232": "admitting diagnosis",
    "233": "discharge hour",
    "234": "patient discharge status",
    "247": "line information",
    "249": "place of service",
    "252": "entity's prior authorization or certification number",
    "254": "principal diagnosis code",
    "255": "diagnosis code",
    "256": "DRG code(s)",
    "258": "days or units for the procedure or revenue code",
    "400": "claim is out of balance",
    "401": "source of payment is not valid",
    "402": "amount must be greater than zero",
    "453": "procedure code modifier(s)",
    "454": "procedure code",
    "455": "revenue code",
    "460": "NUBC condition code(s)",
    "464": "payer-assigned claim control number",
    "465": "principal procedure code",
    "474": "procedure code and patient gender mismatch",
    "475": "procedure code not valid for the patient's age",
    "476": "missing or invalid units of service",
    "477": "missing or invalid diagnosis code pointer",
    "478": "claim submitter's identifier",
    "479": "missing or invalid other payer id",
    "480": "entity's claim filing indicator",
    "481": "claim or submission format is invalid",
    "486": "principal procedure date",
    "487": "claim not found: it should have gone to or through the entity",
    "488": "diagnosis code(s) for the services",
    "490": "other procedure code",
    "491": "entity not eligible for encounter submission",
    "492": "other procedure date",
    "496": "submitter not approved to submit electronically for this entity",
    "500": "entity's postal code",
    "501": "entity's state or province",
    "502": "entity's city",
    "503": "entity's street address",
    "504": "entity's last name",
    "505": "entity's first name",
    "507": "HCPCS",
    "509": "external cause of injury code",
    "510": "future date",
    "511": "invalid character",
    "512": "length invalid for the receiver's system",
    "513": "HIPPS rate code",
    "514": "entity's middle name",
    "516": "other payer's adjudication or payment date",
    "519": "adjustment amount",
    "521": "adjustment reason code",
    "530": "claim adjustment indicator",
    "535": "claim frequency code",
    "538": "claim or encounter identifier",
    "541": "claim submission reason code",
    "548": "contract type code",
    "554": "date claim paid",
    "560": "entity's additional or secondary identifier",
    "562": "entity's National Provider Identifier (NPI)",
    "583": "line item charge amount",
    "584": "line item control number",
    "585": "denied or non-covered charge",
    "610": "patient discharge facility type code",
    "643": "service line paid amount",
    "654": "total denied charge amount",
    "672": "other payer's payment information is out of balance",
    "678": "revenue code and patient gender mismatch",
    "684": "rejected for a syntax error noted in the 999",
    "686": "adjudicated and the entire claim voided",
    "688": "present-on-admission indicator for the diagnosis code(s)",
    "693": "amount must be greater than or equal to zero",
    "694": "amount must not be zero",
    "696": "claim adjustment group code",
    "697": "invalid decimal precision",
    "700": "ICD-10",
    "710": "line adjudication information",
    "717": "claim split for processing",
    "718": "not submitted within the required timeframe (timely filing)",
    "719": "NUBC occurrence code(s)",
    "720": "NUBC occurrence code date(s)",
    "721": "NUBC occurrence span code(s)",
    "722": "NUBC occurrence span code date(s)",
    "723": "drug days supply",
    "724": "drug quantity",
    "725": "NUBC value code(s)",
    "726": "NUBC value code amount(s)",
    "732": "information inconsistent with billing guidelines",
    "733": "prefix of the entity's contract or member number",
    "735": "included in the allowance for another service or claim",
    "736": "a related or qualifying service or claim has not been received or adjudicated",
    "737": "CDT code",
    "741": "entity must be a person",
    "743": "entity's credential or enrollment information",
    "745": "identifier qualifier",
    "746": "duplicate submission",
    "748": "corrected data",
    "755": "entity's primary identifier",
    "772": "the most specific diagnosis code is required",
    "779": "same or similar service already submitted within a set timeframe",
    "787": "resubmit as a new claim, not a replacement",
    "796": "procedure code not valid for the date of service",
    "799": "resubmit as a replacement claim, not a new claim",
}

#: STC01-3: entity identifier codes (X12 element 98) that 277CA statuses name.
ENTITY_CODES = {
    "03": "dependent",
    "1P": "provider",
    "40": "receiver",
    "41": "submitter",
    "71": "attending provider",
    "72": "operating provider",
    "77": "service location",
    "82": "rendering provider",
    "85": "billing provider",
    "87": "pay-to provider",
    "DK": "ordering provider",
    "DN": "referring provider",
    "DQ": "supervising provider",
    "FA": "facility",
    "HK": "subscriber",
    "IL": "insured or subscriber",
    "PR": "payer",
    "QC": "patient",
}


def with_text(code: str, texts: dict[str, str]) -> str:
    """Return ``code (text)`` when ``texts`` knows the code, else the code alone."""
    text = texts.get(code)
    return f"{code} ({text})" if text else code


def claim_status_text(category: str, status: str = "", entity: str = "") -> str:
    """Return one STC composite for people, codes first.

    ``A3:21`` becomes ``A3 (returned as unprocessable claim): 21 (missing or invalid
    information)``; an entity adds ``, entity 85 (billing provider)``. Codes not in
    the lists print as the code alone.
    """
    out = with_text(category, CLAIM_CATEGORIES)
    if status:
        out += f": {with_text(status, CLAIM_STATUS_CODES)}"
    if entity:
        out += f", entity {with_text(entity, ENTITY_CODES)}"
    return out


# An STC composite as sendpro records it: category[:status[:entity]], then maybe the category's text.
_COMPOSITE = re.compile(r"(?P<cat>[A-Z][A-Z0-9]{1,2})(?::(?P<status>[A-Z0-9]{1,5}))?(?::(?P<entity>[A-Z0-9]{2,3}))?")
_LINE_STATUS = re.compile(r"line (?P<n>\d+): (?P<codes>.*)")
# A 999 segment error as recorded: "segment NM1 #12 (loop 2010BA): <IK304 text>", then element errors.
_SEGMENT_ERROR = re.compile(r"(?P<where>segment \S+ #\S*(?: \(loop [^)]*\))?): (?P<text>.*)")
_ELEMENT_ERROR = re.compile(r"(?P<where>element \S+ \([^)]*\)): (?P<text>.*)")
_TA1 = re.compile(r"TA1 (?P<code>[A-Z]): (?P<text>.*)")
_ACK_CODE = re.compile(r"999 (?P<seg>IK5|AK9) (?P<code>[A-Z])(?:: .*)?")
_MORE = re.compile(r"(?P<text>.*?)(?P<more> \(\+\d+ more\))?")


def _code_of(text: str, texts: dict[str, str]) -> str | None:
    """Return the code whose text is ``text`` (as recorded), or the code of ``code N``."""
    if text.startswith("code "):
        return text[5:]
    if text.startswith("note "):
        return text[5:]
    for code, known in texts.items():
        if known == text:
            return code
    return None


def _explain_277_part(part: str) -> str:
    line = _LINE_STATUS.fullmatch(part)
    if line:
        codes = [_explain_277_part(c.strip()) for c in line["codes"].split(",")]
        return f"line {line['n']}: " + ", ".join(codes)
    m = _COMPOSITE.match(part)
    if m is None or (m.end() < len(part) and part[m.end()] != " "):
        return part
    return claim_status_text(m["cat"], m["status"] or "", m["entity"] or "")


def _explain_999_part(part: str) -> str:
    more = _MORE.fullmatch(part)
    body, suffix = (more["text"], more["more"] or "") if more else (part, "")
    for pattern, texts, seg in ((_SEGMENT_ERROR, SEGMENT_CODES, "IK3"), (_ELEMENT_ERROR, ELEMENT_CODES, "IK4")):
        m = pattern.fullmatch(body)
        if m:
            code = _code_of(m["text"], texts)
            if code is None:
                return part
            return f"{m['where']}: {seg} {with_text(code, texts)}{suffix}"
    code = _code_of(body, TRANSACTION_ERRORS)
    return f"IK5 {with_text(code, TRANSACTION_ERRORS)}{suffix}" if code is not None else part


def explain_reason(reason: str) -> str:
    """Return a stored acknowledgment reason with each code's text beside it, codes first.

    Reasons are what the ledger recorded when the acknowledgment was ingested:
    ``277: A3:21 ...``, ``999 rejected transaction set 0001: segment NM1 #12 ...``,
    ``interchange rejected: TA1 R: ...``, ``999 AK9 R: rejected``. Anything not
    recognised is returned unchanged, so the function is safe on any text.
    """
    head, sep, rest = reason.partition(": ")
    if not sep:
        ack = _ACK_CODE.fullmatch(reason)
        if ack:
            texts = TRANSACTION_ACK if ack["seg"] == "IK5" else GROUP_ACK
            return f"999 {ack['seg']} {with_text(ack['code'], texts)}"
        return reason
    if head == "277":
        return f"277: {'; '.join(_explain_277_part(p) for p in rest.split('; '))}"
    if head.startswith("999 rejected transaction set"):
        return f"{head}: {'; '.join(_explain_999_part(p) for p in rest.split('; '))}"
    ack = _ACK_CODE.fullmatch(reason)
    if ack:
        texts = TRANSACTION_ACK if ack["seg"] == "IK5" else GROUP_ACK
        return f"999 {ack['seg']} {with_text(ack['code'], texts)}"
    ta1 = _TA1.fullmatch(reason)
    if ta1:
        return _explain_ta1(ta1["code"], ta1["text"])
    if head == "interchange rejected":
        ta1 = _TA1.fullmatch(rest)
        if ta1:
            return f"interchange rejected: {_explain_ta1(ta1['code'], ta1['text'])}"
    return reason


def _explain_ta1(code: str, note_text: str) -> str:
    note = _code_of(note_text, INTERCHANGE_NOTES)
    out = f"TA1 {with_text(code, INTERCHANGE_ACK)}"
    return f"{out}: {with_text(note, INTERCHANGE_NOTES)}" if note is not None else f"{out}: {note_text}"
