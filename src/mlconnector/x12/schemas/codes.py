"""Code lists for the qualifiers the connector reads, and clerk-facing names for common data elements.

Only codes the connector acts on are listed; an element without a list here is checked for type and length only,
so a partner's unusual but legal code never blocks a document.
"""

from __future__ import annotations


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PURPOSE = _codes(
    "00 01 02 03 04 05 06 07 08 10 11 12 13 14 15 16 17 18 19 20 21 22 24 25 26 27 28 30 31 32 33 35 36 37 38 39 "
    "40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 5C 77 CN CO EX GR PR RH RV SU ZZ"
)
_ACK_TYPE = _codes("AC AD AE AH AK AP AT NA RD RF RJ RN RO RV SP ZZ")
# 353 gains 5C, 668 gains AA and R5-R8, 670 gains CC CE CF CH CI OA RB from the full 004010 element lists (see
# `element_codes.py`): a code the dictionary lists is never rejected; codes kept from earlier lists stay accepted.
_LINE_STATUS = _codes("AA AC AR BP CB DR IA IB IC ID IE IF IH IP IQ IR IS IW R1 R2 R3 R4 R5 R6 R7 R8 SP")
_CHANGE_TYPE = _codes("AI CA CB CC CE CF CG CH CI CT DI MU NC OA OC PC PQ PR PS QD QI RA RB RC RE RM RQ RS RZ SC TI ZZ")
_FUNCTIONAL_ID = _codes(
    "AG AN AR BE CA FA GF IB IN OW PC PO PR PS RA RE SC SH SM SQ SS TX WA WR CT CD DX GP HB HC HI HN HP HR HS "
    "IA IM MA PD QG QM RT SA SR SV UP"
)
_SET_ACK = _codes("A E M R W X")
_GROUP_ACK = _codes("A E M P R W X")
_SEGMENT_ERROR = _codes("1 2 3 4 5 6 7 8")
# 478 Credit/Debit Flag: C D in every release from 002001 to 006030 (Stedi's X12 reference, element 478).
_CREDIT_DEBIT = _codes("C D")
# 1073 Yes/No Condition or Response: N U Y in 003040/003060, N U W Y in 006030 (Stedi's X12 reference, element
# 1073); the union is used for 004010 and 005010 so a valid W is never rejected.
_YES_NO = _codes("N U W Y")

# Interchange envelope code lists (I01, I03, I05, I11) and the TA1 codes (I17, I18), from the published
# X12 control segment tables.
ISA_CODES: dict[int, frozenset[str]] = {
    1: _codes("00 01 02 03 04 05 06"),
    3: _codes("00 01"),
    5: _codes(
        "01 02 03 04 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 "
        "AM NR SN ZZ"
    ),
    12: _codes(
        "00200 00201 00204 00300 00301 00302 00303 00304 00305 00306 00307 00400 00401 00402 00403 00404 00405 "
        "00406 00500 00501 00502 00503 00504 00505 00600 00601 00602 00603 00604 00605 00700 00701 00702 00703 "
        "00704 00705 00706 00800 00801"
    ),
}
TA1_STATUS = _codes("A E R")
TA1_NOTES: dict[str, str] = {
    "000": "no error",
    "001": "the interchange control numbers in ISA13 and IEA02 do not match",
    "002": "the standard named in ISA11 is not supported",
    "003": "this version of the interchange envelope is not supported",
    "004": "the segment terminator is invalid",
    "005": "the sender ID qualifier (ISA05) is invalid",
    "006": "the sender ID (ISA06) is invalid",
    "007": "the receiver ID qualifier (ISA07) is invalid",
    "008": "the receiver ID (ISA08) is invalid",
    "009": "the receiver ID (ISA08) is unknown to the partner",
    "010": "the authorization information qualifier (ISA01) is invalid",
    "011": "the authorization information (ISA02) is invalid",
    "012": "the security information qualifier (ISA03) is invalid",
    "013": "the security information (ISA04) is invalid",
    "014": "the interchange date (ISA09) is invalid",
    "015": "the interchange time (ISA10) is invalid",
    "016": "the interchange standards identifier (ISA11) is invalid",
    "017": "the interchange version (ISA12) is invalid",
    "018": "the interchange control number (ISA13) is invalid",
    "019": "the acknowledgment requested flag (ISA14) is invalid",
    "020": "the test/production indicator (ISA15) is invalid",
    "021": "the number of included groups (IEA01) is wrong",
    "022": "the interchange structure is invalid",
    "023": "the file ended before the interchange did (premature end of file)",
    "024": "the interchange content is invalid (for example a bad GS segment)",
    "025": "the interchange control number was used before (duplicate interchange)",
    "026": "the data element separator is invalid",
    "027": "the component element separator (ISA16) is invalid",
    "028": "the delivery date of a deferred delivery request is invalid",
    "029": "the delivery time of a deferred delivery request is invalid",
    "030": "the delivery time code of a deferred delivery request is invalid",
    "031": "the grade of service code is invalid",
}

CODE_LISTS: dict[tuple[str, int], frozenset[str]] = {
    ("TA1", 4): TA1_STATUS,
    ("TA1", 5): frozenset(TA1_NOTES),
    ("BEG", 1): _PURPOSE,
    ("BAK", 1): _PURPOSE,
    ("BAK", 2): _ACK_TYPE,
    ("BCH", 1): _PURPOSE,
    ("BSN", 1): _PURPOSE,
    ("ACK", 1): _LINE_STATUS,
    ("POC", 2): _CHANGE_TYPE,
    ("SAC", 1): _codes("A C N P Q R S"),  # 248 in the 004010 dictionary
    ("HL", 4): _codes("0 1"),
    ("AMT", 3): _CREDIT_DEBIT,
    ("PID", 8): _YES_NO,
    ("TD4", 5): _YES_NO,
    ("YNQ", 2): _YES_NO,
    ("GS", 1): _FUNCTIONAL_ID,
    ("GS", 7): _codes("T X"),
    ("AK1", 1): _FUNCTIONAL_ID,
    ("AK3", 4): _SEGMENT_ERROR,
    ("AK5", 1): _SET_ACK,
    ("AK9", 1): _GROUP_ACK,
}

# Elements read before the group's version is known (GS01 is checked with the GS segment, whose GS08 names the
# version): their lists are the union of the 004010 and 005010 dictionary lists, so neither version's code fails.
CHECKED_BEFORE_VERSION = frozenset({("GS", 1)})

# 005010 widened the 997 error code lists (AK304 I-codes, AK403 12/13 and I-codes).
VERSION_5010_CODES: dict[tuple[str, int], frozenset[str]] = {
    ("AK3", 4): _SEGMENT_ERROR | _codes("I4 I6 I7 I8 I9"),
}

FRIENDLY: dict[str, str] = {
    "235": "product ID qualifier",
    "234": "product ID",
    "128": "reference qualifier",
    "127": "reference number",
    "66": "ID code qualifier",
    "67": "ID code",
    "93": "name",
    "365": "contact number qualifier",
    "364": "contact number",
    "355": "unit of measure",
    "330": "quantity ordered",
    "212": "unit price",
    "639": "price basis",
    "187": "weight qualifier",
    "384": "gross weight per pack",
    "357": "size",
    "81": "weight",
    "183": "volume",
    "374": "date qualifier",
    "373": "date",
    "337": "time",
    "380": "quantity",
    "88": "marks qualifier",
    "87": "marks and numbers",
    "309": "location qualifier",
    "310": "location identifier",
    "1300": "charge code",
    "248": "allowance or charge indicator",
    "610": "amount",
    "324": "purchase order number",
    "350": "line number",
}
