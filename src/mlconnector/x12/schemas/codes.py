"""Code lists for the qualifiers the connector reads, and clerk-facing names for common data elements.

Only codes the connector acts on are listed; an element without a list here is checked for type and length only,
so a partner's unusual but legal code never blocks a document.
"""

from __future__ import annotations


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PURPOSE = _codes(
    "00 01 02 03 04 05 06 07 08 10 11 12 13 14 15 16 17 18 19 20 21 22 24 25 26 27 28 30 31 32 33 35 36 37 38 39 "
    "40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 77 CN CO EX GR PR RH RV SU ZZ"
)
_ACK_TYPE = _codes("AC AD AE AH AK AP AT NA RD RF RJ RN RO RV SP ZZ")
_LINE_STATUS = _codes("AC AR BP CB DR IA IB IC ID IE IF IH IP IQ IR IS IW R1 R2 R3 R4 SP")
_CHANGE_TYPE = _codes("AI CA CB CG CT DI MU NC OC PC PQ PR PS QD QI RA RC RE RM RQ RS RZ SC TI ZZ")
_FUNCTIONAL_ID = _codes(
    "AG AN AR BE CA FA GF IB IN OW PC PO PR PS RA RE SC SH SM SQ SS TX WA WR CT CD DX GP HB HC HI HN HP HR HS "
    "IA IM MA PD QG QM RT SA SR SV UP"
)
_SET_ACK = _codes("A E M R W X")
_GROUP_ACK = _codes("A E M P R W X")
_SEGMENT_ERROR = _codes("1 2 3 4 5 6 7 8")

CODE_LISTS: dict[tuple[str, int], frozenset[str]] = {
    ("BEG", 1): _PURPOSE,
    ("BAK", 1): _PURPOSE,
    ("BAK", 2): _ACK_TYPE,
    ("BCH", 1): _PURPOSE,
    ("BSN", 1): _PURPOSE,
    ("ACK", 1): _LINE_STATUS,
    ("POC", 2): _CHANGE_TYPE,
    ("SAC", 1): _codes("A C N"),
    ("HL", 4): _codes("0 1"),
    ("GS", 1): _FUNCTIONAL_ID,
    ("GS", 7): _codes("T X"),
    ("AK1", 1): _FUNCTIONAL_ID,
    ("AK3", 4): _SEGMENT_ERROR,
    ("AK5", 1): _SET_ACK,
    ("AK9", 1): _GROUP_ACK,
}

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
