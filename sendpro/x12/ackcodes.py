"""Acknowledgment code lists (X12 999, TA1 and the 277 claim status category), with readable meanings.

Facts from the X12 standards; the lists are small and closed, so they live here
rather than in data files. Claim status codes (STC01-2, an external code list of
several hundred entries maintained by X12) are kept as codes.
"""

from __future__ import annotations

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
#: STC01-1: claim status category codes used by claim acknowledgments (277CA, 277 X364).
CLAIM_CATEGORIES = {
    "A0": "forwarded to another entity",
    "A1": "received",
    "A2": "accepted into the adjudication or reporting system",
    "A3": "returned as unprocessable",
    "A4": "not found",
    "A5": "split",
    "A6": "rejected for missing information",
    "A7": "rejected for invalid information",
    "A8": "rejected for relational field in error",
    "E0": "response not possible: error on submitted request data",
    "E1": "response not possible: system status",
}
#: Categories that accept the encounter.
CLAIM_ACCEPTED = frozenset({"A2"})
#: Categories that only confirm receipt (the encounter waits for acceptance).
CLAIM_RECEIVED = frozenset({"A0", "A1", "A5"})
#: Categories that reject the encounter: it must be fixed and sent again.
CLAIM_REJECTED = frozenset({"A3", "A4", "A6", "A7", "A8", "E0"})
