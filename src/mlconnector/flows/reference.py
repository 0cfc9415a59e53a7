"""Reference data: vendor master records → Cleo partner records; GL accounts and cost centres → cache + Cleo lookups."""

from __future__ import annotations

from collections.abc import Iterable

from mlconnector.cleo import Lookup, Partner
from mlconnector.sage.models import GLAccount as SageGLAccount
from mlconnector.sage.models import Vendor
from mlconnector.store.models import TradingPartner
from mlconnector.store.ops import GLAccountRow

GL_LOOKUP = "sage-gl-accounts"
COST_CENTRE_LOOKUP = "sage-cost-centres"


def partner_record(vendor: Vendor, known: TradingPartner) -> Partner:
    """The Cleo partner record for a mapped vendor: Cleo's interchange IDs stay, Sage's name and address come in."""
    return Partner(
        alias=known.alias,
        name=vendor.vendor_name or vendor.vendor_key,
        isa_qualifier=known.isa_qualifier,
        isa_id=known.isa_id,
        gs_id=known.gs_id or known.isa_id,
        erp_vendor=vendor.vendor_key,
        address={
            k: v
            for k, v in {
                "line1": vendor.address_line1,
                "line2": vendor.address_line2,
                "city": vendor.city,
                "state": vendor.state,
                "postalCode": vendor.zip_code,
                "country": vendor.country_code,
                "phone": vendor.telephone_no,
                "email": vendor.email_address,
            }.items()
            if v
        },
    )


def gl_rows(accounts: Iterable[SageGLAccount]) -> list[GLAccountRow]:
    return [
        GLAccountRow(
            account_key=a.account_key,
            account=a.account,
            main_account=a.main_account,
            division=a.division or None,
            department=a.department or None,
            description=a.description,
            active=a.active,
        )
        for a in accounts
    ]


def gl_lookup(accounts: Iterable[SageGLAccount]) -> Lookup:
    return Lookup.of(
        ("account", "description", "main", "division", "department", "active"),
        [
            (a.account, a.description, a.main_account, a.division, a.department, "Y" if a.active else "N")
            for a in sorted(accounts, key=lambda a: a.account)
        ],
    )


def cost_centre_lookup(accounts: Iterable[SageGLAccount]) -> Lookup:
    """The department (cost-centre) segment values in use, with their descriptions."""
    centres: dict[str, str] = {}
    for a in accounts:
        if a.department:
            centres.setdefault(a.department, a.department_description)
    return Lookup.of(("department", "description"), sorted(centres.items()))
