"""Full 004010 code lists of shared ID data elements, keyed by element number, as data.

Format: a line "NNN:" starts the list of element NNN; codes follow separated by white space. "AB-AZ" is a run of
codes that differ only in their last character, counted in the order 0-9 then A-Z (so "10-1Z" is 10 … 19, 1A …
1Z); every other token is one code. The lists apply to 004010 only: 005010 added codes to most of them, and no
005010 list is at hand, so under 005010 these elements are form-checked (upper-case letters and digits).

Sources (the code values are facts of the X12 004010 data element dictionary; read, not copied):
- tcd/eddy, `data/004010/code-lists/<element>.tsv` (MIT): 66, 92, 98, 146, 349, 365, 640.
- kputnam/stupidedi, `lib/stupidedi/versions/004010/element_defs.rb`: 66 adds II (listed there, not in eddy's
  file); a partner's valid code is never rejected because one source left it out.
"""

from __future__ import annotations

ELEMENT_CODES_004010_TEXT = """
66:
1-9 A C D E F G I J K L N S 10-19 20-29 30-39 40-49 50 53-59 61-64 71-78 81 82 90-99 A1-A6 AA-AE AL AP BC BD BE
BG BP BS C1 C2 C5 CA-CF CI CL CM CP CR CS CT DG DL DN DP DS EC EH EI EP EQ ER ES FA FB FC FD FI FJ FN GA GC HC
HN II LC LD LE LI LN M3-M6 MA-MD MI MK ML MN MP MR NA ND NI NO OC OP PA PB PC PI PP PR RA-RE RT SA SB SD SF SI SJ
SL SP ST SV SW TA TC TZ UC UL UM UP UR US WR XV XX ZC ZN ZY ZZ

92:
AB AC AO BD BE BH BK BL BQ BY CA CC CF CN CO CP CR DR DS EO FH IN JL KA KB KC KD KE KG KI KN KO KP KQ KR KS KT LB
LS NE NO NP NS OS PR RA RC RE RL RN RO RR RT RU RW SA SO SP SS ST SW TC TM TR UD UE US WO ZZ

98:
01-09 0A 0B 0D 0E 0F 0H 10-1Z 20-2Z 30-3Z 40-4Z 50-5Z 60-6Z 70-7Z 80-8Z 90-9L 9N-9Z A1-AZ B1-BZ C1-CZ D1-DZ
E1-EZ F1-FJ FL-FZ G0-G3 G5-GZ H1-H3 H5-HZ I1 I3 I4 I9 IA-IF II-IV J1-JZ K1-KZ L1 L2 L3 L5 L8 L9 LA-LW LY LZ M1-MZ
N1-N9 NB-NN NP-NZ O1-O8 OA-OI OK-OP OR-OZ P0-PZ Q1-QZ R0-RZ S0-SZ T1-T4 T6 T8 T9 TA-TZ U1-U9 UA-UU UW-UZ V1-V6
V8 V9 VA-VZ W1-W4 W8 W9 WA-WJ WL WN WO WP WR-WZ X1-X8 XA XC-XZ Y2 YA-YZ Z1-Z9 ZA-ZH ZJ-ZZ 001-007 AAA-AAQ
AAS-AAV ABB-ABM ALA BAL BKR BRN BUS CMW COL COR DCC DIR ENR EXS FRL FSR GIR HMI HOM IAA IAC-IAI IAK-IAW IAY IAZ
INV LGS LYM LYN LYO LYP MSC NCT NPC ORI PLR PMF PPS PRE PRP PUR RCR REC RGA SEP TPM TSE TSR TTP

146:
11 BP CA CC CD CF DE DF FO HP MX NC NR PA PB PC PD PE PL PO PP PS PU RC RF RS TP WC

349:
F S X

365:
AA AB AC AD AP AS AU BN BT CA CP DN ED EM EX FT FU FX HF HP IT MN NP OF OT PA PC PP PS SP TE TL TM TN TX UR VM WC
WF WP

640:
01-09 10 11 13-19 20-29 30 33-39 3M 40 41 60 62-69 6A 6C 6N 6R 6S 70-79 80-83 85 87 88 91 94 95 97 98 99 A0 A1
A3-A7 AA-AG AI AM AN AP AQ AR AS AT AV AW AZ BA BB BD BF BH BJ BK BL BM BN BO BP BR BS BT BU BV BW C0-C3 CA-CP
CR-CZ D1 D4 DA-DI DK DL DN-DU EA EB EF EI EM EP ER EX FA-FG FI FL FM FN FP FR FS FT GA GI GR HP I1 IA-IF II IM IN
IO IR IU IW IX IZ JM JO JR JS JU JX KB-KN KS KT LC LD LE LF LN LO LP LR LV M1 MA-MF MI ML MM MP MR MS MU N1-N8
NA-NM NO NP NQ NR NT NU OC OF OP OR P1 PA-PG PI PL PM PO PP PR-PX PZ QA-QH QJ QK QL QP QR R1-R8 RA-RH RK RM RP RQ
RS RT RU RZ S1-S4 SA-SH SL SM SO-SV TD TG-TK TP TR TS TT TX U1 U2 U4 U5 U9 UA UC UD UF UI UM UO UP UR UT V1 VH VJ
VL VM-VR W1 W4 W5 WA WC WD WH WO WS WT X1 XA-XD XX XY XZ YI YR ZA-ZU ZW ZZ
"""

_ORDER = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def expand(token: str) -> list[str]:
    """One token of a list: a code, or a run "AB-AZ" of codes sharing all but their last character."""
    first, dash, last = token.partition("-")
    if not dash:
        return [token]
    if len(first) != len(last) or first[:-1] != last[:-1] or _ORDER.index(first[-1]) > _ORDER.index(last[-1]):
        raise ValueError(f"bad code run {token!r}")
    prefix = first[:-1]
    return [prefix + ch for ch in _ORDER[_ORDER.index(first[-1]) : _ORDER.index(last[-1]) + 1]]


def parse_code_lists(text: str) -> dict[str, frozenset[str]]:
    """{element number: codes} from the text above."""
    lists: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in text.split():
        if token.endswith(":"):
            current = lists.setdefault(token[:-1], [])
        elif current is None:
            raise ValueError(f"code {token!r} before any element number")
        else:
            current.extend(expand(token))
    return {ref: frozenset(codes) for ref, codes in lists.items()}


ELEMENT_CODES_004010: dict[str, frozenset[str]] = parse_code_lists(ELEMENT_CODES_004010_TEXT)
