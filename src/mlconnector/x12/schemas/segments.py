"""The X12 004010 segment dictionary, as data.

One block per segment: a header line "TAG Name", one line per element "REQ TYPE MIN/MAX REF Name", optional
"= NOTES" (syntax notes such as P0607 C0302 R0203 E0102 L010203) and "+PAIRS N REF_Q REF_ID MAXLEN" macros for
the long runs of qualifier/ID pairs (PO106/PO107 … PO124/PO125), which also add their P syntax notes.
REQ is M (mandatory), O (optional) or X (conditional: governed by the syntax notes).
TYPE is AN, ID, N0/N2 (implied decimals), R, DT, TM, or C (composite, components not checked here).
The text is transcribed from the published 004010 element and segment tables; keeping it as text keeps it easy to
review against a partner's implementation guide.
"""

from __future__ import annotations

SEGMENT_TEXT = """
ISA Interchange Control Header
  M ID 2/2 I01 Authorization Information Qualifier
  M AN 10/10 I02 Authorization Information
  M ID 2/2 I03 Security Information Qualifier
  M AN 10/10 I04 Security Information
  M ID 2/2 I05 Interchange ID Qualifier (sender)
  M AN 15/15 I06 Interchange Sender ID
  M ID 2/2 I05 Interchange ID Qualifier (receiver)
  M AN 15/15 I07 Interchange Receiver ID
  M DT 6/6 I08 Interchange Date
  M TM 4/4 I09 Interchange Time
  M AN 1/1 I10 Interchange Control Standards Identifier / Repetition Separator
  M ID 5/5 I11 Interchange Control Version Number
  M N0 9/9 I12 Interchange Control Number
  M ID 1/1 I13 Acknowledgment Requested
  M ID 1/1 I14 Usage Indicator
  M AN 1/1 I15 Component Element Separator
IEA Interchange Control Trailer
  M N0 1/5 I16 Number of Included Functional Groups
  M N0 9/9 I12 Interchange Control Number
TA1 Interchange Acknowledgment
  M N0 9/9 I12 Interchange Control Number
  M DT 6/6 I08 Interchange Date
  M TM 4/4 I09 Interchange Time
  M ID 1/1 I17 Interchange Acknowledgment Code
  M ID 3/3 I18 Interchange Note Code
GS Functional Group Header
  M ID 2/2 479 Functional Identifier Code
  M AN 2/15 142 Application Sender's Code
  M AN 2/15 124 Application Receiver's Code
  M DT 8/8 373 Date
  M TM 4/8 337 Time
  M N0 1/9 28 Group Control Number
  M ID 1/2 455 Responsible Agency Code
  M AN 1/12 480 Version / Release / Industry Identifier Code
GE Functional Group Trailer
  M N0 1/6 97 Number of Transaction Sets Included
  M N0 1/9 28 Group Control Number
ST Transaction Set Header
  M ID 3/3 143 Transaction Set Identifier Code
  M AN 4/9 329 Transaction Set Control Number
SE Transaction Set Trailer
  M N0 1/10 96 Number of Included Segments
  M AN 4/9 329 Transaction Set Control Number
BEG Beginning Segment for Purchase Order
  M ID 2/2 353 Transaction Set Purpose Code
  M ID 2/2 92 Purchase Order Type Code
  M AN 1/22 324 Purchase Order Number
  O AN 1/30 328 Release Number
  M DT 8/8 373 Purchase Order Date
  O AN 1/30 367 Contract Number
  O ID 2/2 587 Acknowledgment Type
  O ID 3/3 1019 Invoice Type Code
  O ID 2/2 1166 Contract Type Code
  O ID 2/2 1232 Purchase Category
  O ID 2/2 786 Security Level Code
  O ID 2/2 640 Transaction Type Code
BAK Beginning Segment for Purchase Order Acknowledgment
  M ID 2/2 353 Transaction Set Purpose Code
  M ID 2/2 587 Acknowledgment Type
  M AN 1/22 324 Purchase Order Number
  M DT 8/8 373 Purchase Order Date
  O AN 1/30 328 Release Number
  O AN 1/45 326 Request Reference Number
  O AN 1/30 367 Contract Number
  O AN 1/30 127 Seller's Order Number
  O DT 8/8 373 Acknowledgment Date
  O ID 2/2 640 Transaction Type Code
BCH Beginning Segment for Purchase Order Change
  M ID 2/2 353 Transaction Set Purpose Code
  M ID 2/2 92 Purchase Order Type Code
  M AN 1/22 324 Purchase Order Number
  O AN 1/30 328 Release Number
  O AN 1/8 327 Change Order Sequence Number
  M DT 8/8 373 Purchase Order Date
  O AN 1/45 326 Request Reference Number
  O AN 1/30 367 Contract Number
  O AN 1/30 127 Reference Identification
  O DT 8/8 373 Change Request Date
  O DT 8/8 373 Date
  O ID 2/2 640 Transaction Type Code
  O ID 2/2 1232 Purchase Category
  O ID 2/2 786 Security Level Code
  O ID 2/2 1166 Contract Type Code
  O ID 2/2 1019 Invoice Type Code
BSN Beginning Segment for Ship Notice
  M ID 2/2 353 Transaction Set Purpose Code
  M AN 2/30 396 Shipment Identification
  M DT 8/8 373 Date
  M TM 4/8 337 Time
  O ID 4/4 1005 Hierarchical Structure Code
  X ID 2/2 640 Transaction Type Code
  X ID 3/3 641 Status Reason Code
  = C0706
BIG Beginning Segment for Invoice
  M DT 8/8 373 Invoice Date
  M AN 1/22 76 Invoice Number
  O DT 8/8 373 Purchase Order Date
  O AN 1/22 324 Purchase Order Number
  O AN 1/30 328 Release Number
  O AN 1/8 327 Change Order Sequence Number
  O ID 2/2 640 Transaction Type Code
  O ID 2/2 353 Transaction Set Purpose Code
  O ID 1/2 306 Action Code
  O AN 1/22 76 Invoice Number
CUR Currency
  M ID 2/3 98 Entity Identifier Code
  M ID 3/3 100 Currency Code
  O R 4/10 280 Exchange Rate
  O ID 2/3 98 Entity Identifier Code
  O ID 3/3 100 Currency Code
  O ID 3/3 669 Currency Market/Exchange Code
  X ID 3/3 374 Date/Time Qualifier
  X DT 8/8 373 Date
  X TM 4/8 337 Time
  X ID 3/3 374 Date/Time Qualifier
  X DT 8/8 373 Date
  X TM 4/8 337 Time
  X ID 3/3 374 Date/Time Qualifier
  X DT 8/8 373 Date
  X TM 4/8 337 Time
  X ID 3/3 374 Date/Time Qualifier
  X DT 8/8 373 Date
  X TM 4/8 337 Time
  X ID 3/3 374 Date/Time Qualifier
  X DT 8/8 373 Date
  X TM 4/8 337 Time
  = C0807 C0907 C1110 C1210 C1413 C1513 C1716 C1816 C2019 C2119
REF Reference Identification
  M ID 2/3 128 Reference Identification Qualifier
  X AN 1/30 127 Reference Identification
  X AN 1/80 352 Description
  O C 1/1 C040 Reference Identifier
  = R0203
PER Administrative Communications Contact
  M ID 2/2 366 Contact Function Code
  O AN 1/60 93 Name
  X ID 2/2 365 Communication Number Qualifier
  X AN 1/80 364 Communication Number
  X ID 2/2 365 Communication Number Qualifier
  X AN 1/80 364 Communication Number
  X ID 2/2 365 Communication Number Qualifier
  X AN 1/80 364 Communication Number
  O AN 1/20 443 Contact Inquiry Reference
  = P0304 P0506 P0708
DTM Date/Time Reference
  M ID 3/3 374 Date/Time Qualifier
  X DT 8/8 373 Date
  X TM 4/8 337 Time
  O ID 2/2 623 Time Code
  X ID 2/3 1250 Date Time Period Format Qualifier
  X AN 1/35 1251 Date Time Period
  = R020305 C0403 P0506
N1 Name
  M ID 2/3 98 Entity Identifier Code
  X AN 1/60 93 Name
  X ID 1/2 66 Identification Code Qualifier
  X AN 2/80 67 Identification Code
  O ID 2/2 706 Entity Relationship Code
  O ID 2/3 98 Entity Identifier Code
  = R0203 P0304
N2 Additional Name Information
  M AN 1/60 93 Name
  O AN 1/60 93 Name
N3 Address Information
  M AN 1/55 166 Address Information
  O AN 1/55 166 Address Information
N4 Geographic Location
  O AN 2/30 19 City Name
  O ID 2/2 156 State or Province Code
  O ID 3/15 116 Postal Code
  O ID 2/3 26 Country Code
  X ID 1/2 309 Location Qualifier
  O AN 1/30 310 Location Identifier
  = C0605
PO1 Baseline Item Data
  O AN 1/20 350 Assigned Identification (line number)
  X R 1/15 330 Quantity Ordered
  O ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/17 212 Unit Price
  O ID 2/2 639 Basis of Unit Price Code
  +PAIRS 10 235 234 48
  = C0302 C0504
PO4 Item Physical Details
  O N0 1/6 356 Pack
  X R 1/8 357 Size
  X ID 2/2 355 Unit or Basis for Measurement Code
  X AN 3/5 103 Packaging Code
  X ID 1/2 187 Weight Qualifier
  X R 1/9 384 Gross Weight per Pack
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/9 385 Gross Volume per Pack
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/8 82 Length
  X R 1/8 189 Width
  X R 1/8 65 Height
  X ID 2/2 355 Unit or Basis for Measurement Code
  O N0 1/6 810 Inner Pack
  O ID 2/2 752 Surface/Layer/Position Code
  X AN 1/20 350 Assigned Identification
  X AN 1/20 350 Assigned Identification
  O N0 1/9 1470 Number
  = C0203 C0506 C0607 P0809 C1013 C1113 C1213 L13101112 C1716
PID Product/Item Description
  M ID 1/1 349 Item Description Type
  O ID 2/3 750 Product/Process Characteristic Code
  X ID 2/2 559 Agency Qualifier Code
  X AN 1/12 751 Product Description Code
  X AN 1/80 352 Description
  O ID 2/2 752 Surface/Layer/Position Code
  O AN 1/15 822 Source Subqualifier
  O ID 1/1 1073 Yes/No Condition or Response Code
  O ID 2/3 819 Language Code
  = C0403 R0405
ACK Line Item Acknowledgment
  M ID 2/2 668 Line Item Status Code
  X R 1/15 380 Quantity
  X ID 2/2 355 Unit or Basis for Measurement Code
  X ID 3/3 374 Date/Time Qualifier
  O DT 8/8 373 Date
  O AN 1/45 326 Request Reference Number
  +PAIRS 10 235 234 48
  O ID 2/2 559 Agency Qualifier Code
  O AN 1/15 822 Source Subqualifier
  O AN 1/30 1271 Industry Code
  = C0405
POC Line Item Change
  O AN 1/20 350 Assigned Identification (line number)
  M ID 2/2 670 Change or Response Type Code
  X R 1/15 380 Quantity Ordered
  X R 1/9 671 Quantity Left to Receive
  X C 1/1 C001 Composite Unit of Measure
  X R 1/17 212 Unit Price
  O ID 2/2 639 Basis of Unit Price Code
  +PAIRS 10 235 234 48
  = C0605
HL Hierarchical Level
  M AN 1/12 628 Hierarchical ID Number
  O AN 1/12 734 Hierarchical Parent ID Number
  M ID 1/2 735 Hierarchical Level Code
  O ID 1/1 736 Hierarchical Child Code
PRF Purchase Order Reference
  M AN 1/22 324 Purchase Order Number
  O AN 1/30 328 Release Number
  O AN 1/8 327 Change Order Sequence Number
  O DT 8/8 373 Purchase Order Date
  O AN 1/20 350 Assigned Identification
  O AN 1/30 367 Contract Number
  O ID 2/2 92 Purchase Order Type Code
LIN Item Identification
  O AN 1/20 350 Assigned Identification (line number)
  M ID 2/2 235 Product/Service ID Qualifier
  M AN 1/48 234 Product/Service ID
  +PAIRS 14 235 234 48
SN1 Item Detail (Shipment)
  O AN 1/20 350 Assigned Identification (line number)
  M R 1/10 382 Number of Units Shipped
  M ID 2/2 355 Unit or Basis for Measurement Code
  O R 1/15 646 Quantity Shipped to Date
  X R 1/15 330 Quantity Ordered
  X ID 2/2 355 Unit or Basis for Measurement Code
  O ID 1/2 728 Returnable Container Load Make-Up Code
  O ID 2/2 668 Line Item Status Code
  = P0506
MAN Marks and Numbers
  M ID 1/2 88 Marks and Numbers Qualifier
  M AN 1/48 87 Marks and Numbers
  O AN 1/48 87 Marks and Numbers
  X ID 1/2 88 Marks and Numbers Qualifier
  X AN 1/48 87 Marks and Numbers
  O AN 1/48 87 Marks and Numbers
  = P0405 C0605
TD1 Carrier Details (Quantity and Weight)
  O AN 3/5 103 Packaging Code
  X N0 1/7 80 Lading Quantity
  O ID 1/1 23 Commodity Code Qualifier
  X AN 1/30 22 Commodity Code
  O AN 1/50 79 Lading Description
  O ID 1/2 187 Weight Qualifier
  X R 1/10 81 Weight
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/8 183 Volume
  X ID 2/2 355 Unit or Basis for Measurement Code
  = C0102 C0304 C0607 P0708 P0910
TD5 Carrier Details (Routing Sequence/Transit Time)
  O ID 1/2 133 Routing Sequence Code
  X ID 1/2 66 Identification Code Qualifier
  X AN 2/80 67 Identification Code (SCAC)
  X ID 1/2 91 Transportation Method/Type Code
  X AN 1/35 387 Routing
  X ID 2/2 368 Shipment/Order Status Code
  O ID 1/2 309 Location Qualifier
  X AN 1/30 310 Location Identifier
  X ID 2/2 731 Transit Direction Code
  X ID 2/2 732 Transit Time Direction Qualifier
  X R 1/4 733 Transit Time
  X ID 2/2 284 Service Level Code
  X ID 2/2 284 Service Level Code
  O ID 2/2 284 Service Level Code
  O ID 2/3 26 Country Code
  = R0204050612 C0203 C0708 C1011 C1110 C1312 C1413
TDS Total Monetary Value Summary
  M N2 1/15 610 Total Invoice Amount
  O N2 1/15 610 Amount Subject to Terms Discount
  O N2 1/15 610 Discounted Amount Due
  O N2 1/15 610 Terms Discount Amount
IT1 Baseline Item Data (Invoice)
  O AN 1/20 350 Assigned Identification (line number)
  X R 1/10 358 Quantity Invoiced
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/17 212 Unit Price
  O ID 2/2 639 Basis of Unit Price Code
  +PAIRS 10 235 234 48
SAC Service, Promotion, Allowance, or Charge Information
  M ID 1/1 248 Allowance or Charge Indicator
  X ID 4/4 1300 Service, Promotion, Allowance, or Charge Code
  X ID 2/2 559 Agency Qualifier Code
  X AN 1/10 1301 Agency Service, Promotion, Allowance, or Charge Code
  O N2 1/15 610 Amount
  X ID 1/1 378 Allowance/Charge Percent Qualifier
  X R 1/6 332 Percent
  O R 1/9 118 Rate
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/15 380 Quantity
  O R 1/15 380 Quantity
  O ID 2/2 331 Allowance or Charge Method of Handling Code
  O AN 1/30 127 Reference Identification
  O AN 1/20 770 Option Number
  X AN 1/80 352 Description
  O ID 2/3 819 Language Code
  = R0203 P0304 P0607 P0910 C1413 C1615
ITD Terms of Sale/Deferred Terms of Sale
  O ID 2/2 336 Terms Type Code
  O ID 1/2 333 Terms Basis Date Code
  O R 1/6 338 Terms Discount Percent
  X DT 8/8 370 Terms Discount Due Date
  X N0 1/3 351 Terms Discount Days Due
  O DT 8/8 446 Terms Net Due Date
  O N0 1/3 386 Terms Net Days
  O N2 1/10 362 Terms Discount Amount
  O DT 8/8 388 Terms Deferred Due Date
  X N2 1/10 389 Deferred Amount Due
  X R 1/5 342 Percent of Invoice Payable
  O AN 1/80 352 Description
  X N0 1/2 765 Day of Month
  X ID 1/2 107 Payment Method Code
  X R 1/10 954 Percent
CTT Transaction Totals
  M N0 1/6 354 Number of Line Items
  O R 1/10 347 Hash Total
  X R 1/10 81 Weight
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/8 183 Volume
  X ID 2/2 355 Unit or Basis for Measurement Code
  O AN 1/80 352 Description
  = P0304 P0506
AMT Monetary Amount
  M ID 1/3 522 Amount Qualifier Code
  M R 1/18 782 Monetary Amount
  O ID 1/1 478 Credit/Debit Flag Code
MEA Measurements
  O ID 2/2 737 Measurement Reference ID Code
  O ID 1/3 738 Measurement Qualifier
  X R 1/20 739 Measurement Value
  X C 1/1 C001 Composite Unit of Measure
  X R 1/20 740 Range Minimum
  X R 1/20 741 Range Maximum
  O ID 2/2 935 Measurement Significance Code
  X ID 2/2 936 Measurement Attribute Code
  O ID 2/2 752 Surface/Layer/Position Code
  O ID 2/4 1373 Measurement Method or Device
  = R03050608 C0504 C0604 L07030506 E0803
NTE Note/Special Instruction
  O ID 3/3 363 Note Reference Code
  M AN 1/80 352 Description
FOB F.O.B. Related Instructions
  M ID 2/2 146 Shipment Method of Payment
  X ID 1/2 309 Location Qualifier
  O AN 1/80 352 Description
  O ID 2/2 334 Transportation Terms Qualifier Code
  X ID 3/3 335 Transportation Terms Code
  X ID 1/2 309 Location Qualifier
  O AN 1/80 352 Description
  O ID 2/2 54 Risk of Loss Code
  X AN 1/80 352 Description
  = C0302 C0405 C0706 C0809
PKG Marking, Packaging, Loading
  X ID 1/1 349 Item Description Type
  O ID 1/5 753 Packaging Characteristic Code
  O ID 2/2 559 Agency Qualifier Code
  O AN 1/7 754 Packaging Description Code
  X AN 1/80 352 Description
  O ID 2/2 400 Unit Load Option Code
  = C0403 C0501
N9 Reference Identification
  M ID 2/3 128 Reference Identification Qualifier
  X AN 1/30 127 Reference Identification
  X AN 1/45 369 Free-form Description
  O DT 8/8 373 Date
  X TM 4/8 337 Time
  O ID 2/2 623 Time Code
  O C 1/1 C040 Reference Identifier
  = R0203 C0605
MSG Message Text
  M AN 1/264 933 Free-Form Message Text
  X ID 2/2 934 Printer Carriage Control Code
  O N0 1/9 1470 Number
  = C0302
AK1 Functional Group Response Header
  M ID 2/2 479 Functional Identifier Code
  M N0 1/9 28 Group Control Number
AK2 Transaction Set Response Header
  M ID 3/3 143 Transaction Set Identifier Code
  M AN 4/9 329 Transaction Set Control Number
AK3 Data Segment Note
  M ID 2/3 721 Segment ID Code
  M N0 1/6 719 Segment Position in Transaction Set
  O AN 1/6 447 Loop Identifier Code
  O ID 1/3 720 Segment Syntax Error Code
AK4 Data Element Note
  M C 1/1 C030 Position in Segment
  O N0 1/4 725 Data Element Reference Number
  M ID 1/3 723 Data Element Syntax Error Code
  O AN 1/99 724 Copy of Bad Data Element
AK5 Transaction Set Response Trailer
  M ID 1/1 717 Transaction Set Acknowledgment Code
  O ID 1/3 718 Transaction Set Syntax Error Code
  O ID 1/3 718 Transaction Set Syntax Error Code
  O ID 1/3 718 Transaction Set Syntax Error Code
  O ID 1/3 718 Transaction Set Syntax Error Code
  O ID 1/3 718 Transaction Set Syntax Error Code
AK9 Functional Group Response Trailer
  M ID 1/1 715 Functional Group Acknowledge Code
  M N0 1/6 97 Number of Transaction Sets Included
  M N0 1/6 123 Number of Received Transaction Sets
  M N0 1/6 2 Number of Accepted Transaction Sets
  O ID 1/3 716 Functional Group Syntax Error Code
  O ID 1/3 716 Functional Group Syntax Error Code
  O ID 1/3 716 Functional Group Syntax Error Code
  O ID 1/3 716 Functional Group Syntax Error Code
  O ID 1/3 716 Functional Group Syntax Error Code
"""

# 005010: every segment whose definition differs from 004010, written out whole (the rest are the same text).
SEGMENT_TEXT_5010 = """
ST Transaction Set Header
  M ID 3/3 143 Transaction Set Identifier Code
  M AN 4/9 329 Transaction Set Control Number
  O AN 1/35 1705 Implementation Convention Reference
REF Reference Information
  M ID 2/3 128 Reference Identification Qualifier
  X AN 1/50 127 Reference Identification
  X AN 1/80 352 Description
  O C 1/1 C040 Reference Identifier
  = R0203
N9 Extended Reference Information
  M ID 2/3 128 Reference Identification Qualifier
  X AN 1/50 127 Reference Identification
  X AN 1/45 369 Free-form Description
  O DT 8/8 373 Date
  X TM 4/8 337 Time
  O ID 2/2 623 Time Code
  O C 1/1 C040 Reference Identifier
  = R0203 C0605
AK1 Functional Group Response Header
  M ID 2/2 479 Functional Identifier Code
  M N0 1/9 28 Group Control Number
  O AN 1/12 480 Version / Release / Industry Identifier Code
AK2 Transaction Set Response Header
  M ID 3/3 143 Transaction Set Identifier Code
  M AN 4/9 329 Transaction Set Control Number
  O AN 1/35 1705 Implementation Convention Reference
"""

# Composite data elements: a header "Cnnn Name", then one line per component (as for segments) and "= NOTES".
COMPOSITE_TEXT = """
C001 Composite Unit of Measure
  M ID 2/2 355 Unit or Basis for Measurement Code
  O R 1/15 1018 Exponent
  O R 1/10 649 Multiplier
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/15 1018 Exponent
  X R 1/10 649 Multiplier
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/15 1018 Exponent
  X R 1/10 649 Multiplier
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/15 1018 Exponent
  X R 1/10 649 Multiplier
  X ID 2/2 355 Unit or Basis for Measurement Code
  X R 1/15 1018 Exponent
  X R 1/10 649 Multiplier
  = C0504 C0604 C0807 C0907 C1110 C1210 C1413 C1513
C002 Actions Indicated
  M ID 1/2 704 Paperwork/Report Action Code
  O ID 1/2 704 Paperwork/Report Action Code
  O ID 1/2 704 Paperwork/Report Action Code
  O ID 1/2 704 Paperwork/Report Action Code
  O ID 1/2 704 Paperwork/Report Action Code
C030 Position in Segment
  M N0 1/2 722 Element Position in Segment
  O N0 1/2 1528 Component Data Element Position in Composite
C040 Reference Identifier
  M ID 2/3 128 Reference Identification Qualifier
  M AN 1/30 127 Reference Identification
  X ID 2/3 128 Reference Identification Qualifier
  X AN 1/30 127 Reference Identification
  X ID 2/3 128 Reference Identification Qualifier
  X AN 1/30 127 Reference Identification
  = P0304 P0506
"""

# Segments the connector neither reads nor writes: element counts, types, lengths, composites and syntax notes
# ("= NOTES" at the end of the line), no names. An ID element carries its element number ("M ID 2/2 662"), which
# attaches each version's code list: the numbers are those of EdiWeave's 004010 rule classes (krzkraw/EdiWeave,
# `rules/Rules.X12004010/EF_X12_004010_Segments.cs`). CLD ETD G53 GF LH1 PAL are not in that file: their numbers are
# those whose EdiFabric code-table class (`X12_ID_NNN`) is named like the position in Eddy's models (ETD01 626 Excess
# Transportation Reason Code, G5301 875, PAL01 883 …, see docs/x12.md); LH103, LH110 and TSD02 stay unnumbered. R407
# is AN (element 113 Pier Number, AN in EdiWeave's R4 and EdiFabric's segment classes). ADV P0607, SR C0403 C0908
# and SPI P0203 are the rules of Eddy's generated segment
# models (GotWoods/EDDY; SPI from its 003050 model, whose SPI01-14 are 004010's); L7 has none there (nor in
# stupidedi), so it has no notes.
SHORT_TEXT = """
TAX X AN 1/20, X ID 1/2 309, X AN 1/30, X ID 1/2 309, X AN 1/30, X ID 1/2 309, X AN 1/30, X ID 1/2 309, X AN 1/30, \
X ID 1/2 309, X AN 1/30, O ID 1/1 441, O ID 1/1 1179 = R0103 P0203 P0405 P0607 P0809 P1011
CTP O ID 2/2 687, X ID 3/3 236, X R 1/17, X R 1/15, X C 1/1 C001, O ID 3/3 648, X R 1/10, O R 1/18, O ID 2/2 639, \
O AN 1/10, O N0 1/2 = P0405 C0607 C0902 C1002 C1103
PAM O ID 2/2 673, X R 1/15, X C 1/1 C001, X ID 1/3 522, X R 1/18, X ID 2/2 344, X ID 3/3 374, X DT 8/8, X TM 4/8, \
X ID 3/3 374, X DT 8/8, X TM 4/8, O ID 1/2 1004, O R 1/10, \
O ID 1/1 1073 = P010203 R020514 P0405 P0607 L070809 C0807 C0907 L101112 C1110 P1314
CSH O ID 1/2 563, X ID 1/2 306, X N2 1/15, O AN 1/35, O DT 8/8, X ID 2/2 559, O AN 2/10, O ID 1/2 566, X R 1/10, \
X ID 1/2 1004 = C0203 P0607 P0910
TC2 M ID 1/1 23, M AN 1/30
DIS M ID 3/3 653, M ID 2/2 654, M R 1/10, M ID 2/3 656, M R 1/10, O R 1/10
INC M ID 2/2 336, M C 1/1 C001, M R 1/15, M R 1/15, O R 1/18
LDT M ID 2/2 345, M R 1/15, M ID 2/2 344, O DT 8/8
SI M ID 2/2 559, M ID 2/2 1000, M AN 1/48, X ID 2/2 1000, X AN 1/48, X ID 2/2 1000, X AN 1/48, X ID 2/2 1000, \
X AN 1/48, X ID 2/2 1000, X AN 1/48, X ID 2/2 1000, X AN 1/48, X ID 2/2 1000, X AN 1/48, X ID 2/2 1000, X AN 1/48, \
X ID 2/2 1000, X AN 1/48, X ID 2/2 1000, X AN 1/48 = P0405 P0607 P0809 P1011 P1213 P1415 P1617 P1819 P2021
PWK M ID 2/2 755, O ID 1/2 756, O N0 1/2, X ID 2/3 98, X ID 1/2 66, X AN 2/80, O AN 1/80, O C 1/1 C002, \
O ID 1/2 1525 = P0506
TD3 X ID 2/2 40, O AN 1/4, X AN 1/10, O ID 1/2 187, X R 1/10, X ID 2/2 355, O ID 1/1 102, O ID 2/2 407, O AN 2/15, \
O ID 4/4 24 = E0110 C0203 C0405 P0506
TD4 X ID 2/3 152, X ID 1/1 208, X AN 1/4, X AN 1/80, O ID 1/1 1073 = R010204 C0203
PCT M ID 1/2 1004, M R 1/10
CTB M ID 2/2 688, X AN 1/80, X ID 2/2 673, X R 1/15, X ID 1/3 522, X N2 1/15 = R020406 P0304 P0506
TXI M ID 2/2 963, X R 1/18, X R 1/10, X ID 2/2 955, X AN 1/10, X ID 1/1 441, O ID 1/1 662, X R 1/9, O AN 1/20, \
O AN 1/20 = R020306 P0405 C0803
FA1 M ID 2/2 559, O ID 4/4 1300, O ID 1/1 248
FA2 M ID 2/2 1196, M AN 1/80
NX2 M ID 2/2 1106, M AN 1/55, O ID 5/5 1096
LM M ID 2/2 559, O AN 1/15
LQ O ID 1/3 1270, X AN 1/30 = C0102
SPI M ID 2/2 786, X ID 2/3 128, X AN 1/30, O AN 1/132, O AN 1/80, O ID 1/1 792, O ID 2/2 353, O ID 2/2 755, \
O ID 2/2 786, O ID 2/2 559, O AN 1/15, O R 1/6, O ID 1/1 1322, O ID 1/3 1401, O ID 4/4 1005 = P0203
G61 M ID 2/2 366, M AN 1/60, X ID 2/2 365, X AN 1/80, O AN 1/20 = P0304
CB1 M ID 2/2 1309, O ID 1/1 1310
ADV M ID 2/2 559, M ID 2/2 1000, O R 1/20, O R 1/20, O AN 1/6, X ID 2/2 1000, X R 1/20 = P0607
MTX O ID 3/3 363, X AN 1/4096, X AN 1/4096, O ID 2/2 934 = C0102 C0302
CN1 M ID 2/2 1166, O R 1/18, O R 1/6, O AN 1/30, O R 1/6, O AN 1/30
PO3 M ID 2/2 371, O DT 8/8, O ID 3/3 236, X R 1/17, O ID 2/2 639, M R 1/15, M ID 2/2 355, O AN 1/80 = L040305
IT8 O ID 1/2 563, X ID 1/2 306, X N2 1/15, O AN 1/35, O DT 8/8, X ID 2/2 559, O ID 1/2 566, X ID 2/2 235, X AN 1/48, \
X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, \
X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, \
X AN 1/48 = R0102030507 P0809 P1011 P1213 P1415 P1617 P1819 P2021 P2223 P2425 P2627
SDQ M ID 2/2 355, O ID 1/2 66, M AN 2/80, M R 1/15, X AN 2/80, X R 1/15, X AN 2/80, X R 1/15, X AN 2/80, X R 1/15, \
X AN 2/80, X R 1/15, X AN 2/80, X R 1/15, X AN 2/80, X R 1/15, X AN 2/80, X R 1/15, X AN 2/80, X R 1/15, X AN 2/80, \
X R 1/15, O AN 1/30 = P0506 P0708 P0910 P1112 P1314 P1516 P1718 P1920 P2122
IT3 X R 1/10, X ID 2/2 355, X ID 2/2 368, X R 1/9, X ID 2/2 371 = P0102
QTY M ID 2/2 673, X R 1/15, O C 1/1 C001, X AN 1/30 = R0204 E0204
SCH M R 1/15, M ID 2/2 355, X ID 2/3 98, X AN 1/60, M ID 3/3 374, M DT 8/8, O TM 4/8, X ID 3/3 374, X DT 8/8, \
O TM 4/8, O AN 1/45, O AN 1/20 = C0304
LS M AN 1/6
LE M AN 1/6
SLN M AN 1/20, O AN 1/20, M ID 1/1 662, X R 1/15, X C 1/1 C001, X R 1/17, X ID 2/2 639, O ID 1/1 662, X ID 2/2 235, \
X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, \
X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, X AN 1/48, X ID 2/2 235, \
X AN 1/48 = P0405 C0706 C0805 P0910 P1112 P1314 P1516 P1718 P1920 P2122 P2324 P2526 P2728
G53 M ID 3/3 875
TSD O AN 1/20, O ID 1/3
PAL O ID 1/2 883, O N0 1/3, O N0 1/3, O N0 1/6, X R 1/8, X ID 2/2 355, X R 1/8, X R 1/8, X R 1/8, X ID 2/2 355, \
X R 1/9, X ID 2/2 355, X R 1/9, X ID 2/2 355, O ID 1/1 399, O N0 1/6 = P0506 C0710 C0810 C0910 L10070809 P1112 P1314
ETD M ID 1/2 626, M ID 1/1 627, O ID 2/3 128, O AN 1/30, O ID 1/2 743
GF O ID 2/3 128, X AN 1/30, X AN 1/30, X R 1/18, O ID 2/3 128, O AN 1/30, O AN 1/30, O ID 2/3 128, O AN 1/30 \
= P0102 P0506 P0809
YNQ X ID 2/2 1321, M ID 1/1 1073, X ID 2/3 1250, X AN 1/35, X AN 1/264, O AN 1/264, O AN 1/264, O ID 1/3 1270, \
X AN 1/30, X AN 1/264 = E010910 P0304 C0908
V1 X AN 1/8, X AN 2/28, O ID 2/3 26, O AN 2/10, O ID 2/4 140, O ID 1/1 249, O ID 2/2 854, O ID 1/1 897, \
O ID 1/2 91 = R0102 C0801
R4 M ID 1/1 115, X ID 1/2 309, X AN 1/30, O AN 2/24, O ID 2/3 26, O AN 2/30, O AN 1/4, O ID 2/2 156 = C0203
DMG X ID 2/3 1250, X AN 1/35, O ID 1/1 1068, O ID 1/1 1067, O C 1/1, O ID 1/2 1066, O ID 2/3 26, O ID 1/2 659, \
O R 1/15 = P0102
L7 O N0 1/3, O AN 1/4, O AN 1/7, O AN 1/2, O AN 1/16, O N0 1/2, O AN 2/5, O AN 1/4, O ID 4/4 46, O DT 8/8, O AN 1/6, \
O AN 1/2, O N0 1/5, O ID 1/1 295, O AN 2/30, O ID 2/2 156
BAL M ID 1/2 951, M ID 1/3 522, M R 1/18
CRC M ID 2/2 1136, M ID 1/1 1073, M ID 2/2 1321, O ID 2/2 1321, O ID 2/2 1321, O ID 2/2 1321, O ID 2/2 1321
CAD O ID 1/2 91, X AN 1/4, X AN 1/10, X ID 2/4 140, X AN 1/35, O ID 2/2 368, X ID 2/3 128, X AN 1/30, \
O ID 2/2 284 = R0504 C0708
ISS X R 1/10, X ID 2/2 355, X R 1/10, X ID 2/2 355, X R 1/8, X ID 2/2 355, O R 1/15, O R 1/10 = P0102 P0304 P0506
SR O AN 1/20, O AN 1/7, X TM 4/8, X TM 4/8, O AN 1/60, O R 1/17, O R 1/15, X DT 8/8, X DT 8/8, O AN 1/48, \
O AN 1/48 = C0403 C0908
LH1 M ID 2/2 355, M N0 1/7, O ID 6/6, O AN 1/6, O AN 1/30, O ID 2/2 355, O R 1/15, O ID 1/1 595, O ID 1/1 665, \
O ID 1/3, O AN 1/5 = P0607
CLD M N0 1/5, M R 1/10, O AN 3/5, X R 1/8, X ID 2/2 355 = P0405
"""

# 005010's compact rows where they differ from 004010's, written out whole: element 1321 (Condition Indicator) is
# ID 2/3 in 005010 (codes such as 000, AFM, BPD), 2/2 in 004010.
SHORT_TEXT_5010 = """
YNQ X ID 2/3 1321, M ID 1/1 1073, X ID 2/3 1250, X AN 1/35, X AN 1/264, O AN 1/264, O AN 1/264, O ID 1/3 1270, \
X AN 1/30, X AN 1/264 = E010910 P0304 C0908
CRC M ID 2/2 1136, M ID 1/1 1073, M ID 2/3 1321, O ID 2/3 1321, O ID 2/3 1321, O ID 2/3 1321, O ID 2/3 1321
"""
