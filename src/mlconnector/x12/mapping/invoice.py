"""810 Invoice ⇄ Invoice: BIG, IT1 lines, TDS total (implied two decimals) and summary SAC charges."""

from __future__ import annotations

from decimal import Decimal

from mlconnector.x12.documents import Charge, Invoice, InvoiceLine
from mlconnector.x12.mapping.common import (
    MappingError,
    Segment,
    el,
    fmt_cents,
    fmt_date,
    fmt_decimal,
    pairs_in,
    pairs_out,
    parse_cents,
    parse_date,
    parse_decimal,
    party_in,
    party_out,
    reference_in,
    references_out,
    req,
)


def invoice_out(invoice: Invoice) -> list[Segment]:
    """810: BIG, CUR, REF, N1 loops, ITD, IT1 loops (PID), TDS, SAC, CTT."""
    segments: list[Segment] = [
        [
            "BIG",
            fmt_date(invoice.invoice_date),
            invoice.invoice_number,
            fmt_date(invoice.po_date),
            invoice.po_number,
            None,
            None,
            invoice.transaction_type,
        ]
    ]
    if invoice.currency:
        segments.append(["CUR", "SE", invoice.currency])
    segments += references_out(invoice.references)
    for party in invoice.parties:
        segments += party_out(party)
    if invoice.terms_net_days is not None:
        if not 0 <= invoice.terms_net_days <= 999:
            raise MappingError(f"terms net days {invoice.terms_net_days} must be 0 … 999")
        segments.append(["ITD", "01", "3", None, None, None, None, str(invoice.terms_net_days)])
    for line in invoice.lines:
        segments.append(
            [
                "IT1",
                line.line_number,
                fmt_decimal(line.quantity),
                line.uom,
                fmt_decimal(line.unit_price),
                None,
                *pairs_out(line.product_ids, 10),
            ]
        )
        if line.description:
            segments.append(["PID", "F", None, None, None, line.description])
    segments.append(["TDS", fmt_cents(invoice.total_amount)])
    for charge in invoice.charges:
        sac: Segment = ["SAC", charge.indicator, charge.code, None, None, fmt_cents(charge.amount)]
        if charge.description:
            sac += [None] * 9 + [charge.description]
        segments.append(sac)
    segments.append(["CTT", str(len(invoice.lines))])
    return segments


def invoice_in(segments: list[list[str]]) -> Invoice:
    big = next((s for s in segments if s[0] == "BIG"), None)
    if big is None:
        raise MappingError("BIG is missing")
    lines: list[InvoiceLine] = []
    descriptions: list[str | None] = []
    references = []
    parties = []
    charges = []
    currency = None
    net_days = None
    total = None
    in_lines = False
    i = 0
    while i < len(segments):
        seg = segments[i]
        tag = seg[0]
        if tag == "IT1":
            in_lines = True
            quantity, price = parse_decimal(el(seg, 2)), parse_decimal(el(seg, 4))
            if quantity is None or price is None:
                raise MappingError(f"IT1 line {el(seg, 1) or len(lines) + 1}: quantity and unit price are required")
            number = el(seg, 1) or str(len(lines) + 1)
            lines.append(InvoiceLine(number, quantity, el(seg, 3) or "", price, pairs_in(seg, 6, 10)))
            descriptions.append(None)
        elif tag == "PID" and in_lines and descriptions and descriptions[-1] is None:
            descriptions[-1] = el(seg, 5)
        elif tag == "TDS":
            in_lines = False
            total = parse_cents(req(seg, 1))
        elif tag == "SAC" and total is not None:
            amount = parse_cents(el(seg, 5))
            charges.append(
                Charge(req(seg, 1), el(seg, 2) or "", amount if amount is not None else Decimal(0), el(seg, 15))
            )
        elif not in_lines and total is None:
            if tag == "CUR":
                currency = el(seg, 2)
            elif tag == "REF":
                references.append(reference_in(seg))
            elif tag == "ITD" and el(seg, 7):
                net_days = int(req(seg, 7))
            elif tag == "N1":
                party, i = party_in(segments, i)
                parties.append(party)
                continue
        i += 1
    if total is None:
        raise MappingError("TDS total is missing")
    invoice_date = parse_date(req(big, 1))
    assert invoice_date is not None
    lines = [
        InvoiceLine(ln.line_number, ln.quantity, ln.uom, ln.unit_price, ln.product_ids, d)
        for ln, d in zip(lines, descriptions, strict=True)
    ]
    return Invoice(
        invoice_number=req(big, 2),
        invoice_date=invoice_date,
        po_number=el(big, 4),
        lines=tuple(lines),
        total_amount=total,
        po_date=parse_date(el(big, 3)),
        transaction_type=el(big, 7),
        currency=currency,
        references=tuple(references),
        parties=tuple(parties),
        charges=tuple(charges),
        terms_net_days=net_days,
    )
