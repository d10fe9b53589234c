"""The provider interface: plain data in, plain data out. Providers never touch accounting models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from apilo.errors import ApplicationError


class ProviderError(ApplicationError):
    pass


class ProviderUnavailable(ProviderError):
    """Timeout, connection error, 429, 5xx: worth retrying later. `in_doubt` when a write may have happened."""

    def __init__(self, message: str, *, in_doubt: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.in_doubt = in_doubt
        self.retry_after = retry_after


class ProviderRejected(ProviderError):
    """422 and other final refusals: retrying the same data cannot help. `errors` maps field → messages."""

    def __init__(self, message: str, *, errors: dict | None = None):
        super().__init__(message, extra={"errors": errors or {}})
        self.errors = errors or {}


class TaskRejected(ProviderRejected):
    """The service processed an async create and refused it (inFakt's 422 task): nothing was created."""


class ProviderNotFound(ProviderRejected):
    """404: the service does not know the resource (for an async task: unknown, not failed)."""


class ProviderAuthError(ProviderError):
    """401/402/403: the key, the plan or the scopes are wrong; the integration is marked failing."""


class ProviderNotConfigured(ProviderError):
    pass


@dataclass
class Party:
    company_name: str
    name: str
    nip: str
    street: str
    post_code: str
    city: str
    country: str
    email: str = ""


@dataclass
class InvoiceLine:
    name: str
    unit: str
    quantity: Decimal
    vat_rate: str
    gross_total: Decimal  # the line's gross value (quantity × unit gross), rounded
    unit_price_gross: Decimal
    unit_price_net: Decimal | None = None  # corrections are priced by the unit net price
    # corrections only: the same line before
    quantity_before: Decimal | None = None
    gross_total_before: Decimal | None = None
    unit_price_net_before: Decimal | None = None


@dataclass
class InvoicePayload:
    reference: str  # our document id: lets an uncertain create be found again
    order_number: str
    issue_date: date
    sale_date: date
    due_date: date | None
    payment_method: str
    currency: str
    buyer: Party
    lines: list[InvoiceLine]
    total_gross: Decimal
    kind: str = "vat"  # "vat" | "proforma"
    bank_account: str = ""
    bank_name: str = ""
    swift: str = ""
    split_payment: bool = False
    notes: str = ""
    # corrections
    corrected_number: str = ""
    corrected_date: date | None = None
    corrected_uuid: str = ""
    corrected_sale_date: date | None = None  # inFakt: `sale_date_before_correction` = the original's sale date
    correction_reason: str = ""  # "mistake" | "other"
    correction_reason_text: str = ""  # the written reason
    corrected_is_correction: bool = False  # the corrected document is itself a correction
    # "zw" lines: the exemption basis as written on the document; the provider resolves its own id for it
    exemption_basis: str = ""
    # an invoice to a receipt (or its correction): the receipt's number; its turnover is booked by the receipt
    receipt_number: str = ""
    # resolved by the provider (`prepare`) before the create
    client_id: int | None = None
    vat_exemption_reason: int | None = None


@dataclass
class AccountInfo:
    company_name: str = ""
    nip: str = ""
    street: str = ""
    post_code: str = ""
    city: str = ""
    bank_accounts: list[dict] = field(default_factory=list)


@dataclass
class TaskStatus:
    done: bool
    external_uuid: str = ""
    errors: dict = field(default_factory=dict)
    unknown: bool = False  # the service does not know the task (404): its outcome is unknown, not failed


@dataclass
class ExternalInvoice:
    uuid: str
    id: str
    number: str
    gross_total: Decimal
    vat_total: Decimal | None = None
    # VAT per rate symbol as the service computed it (a correction: after − before); None when not reported
    vat_by_rate: dict[str, Decimal] | None = None
    order_numbers: list[str] = field(default_factory=list)


@dataclass
class ServiceKsefStatus:
    """A document's KSeF state as the accounting service reports it (inFakt's `ksef_data`). `status`: pending, sent
    (not final), success (final with `ksef_number`), error, rejected (final for this attempt); anything else is
    treated as pending by the caller. `sent` is False when the service holds no KSeF data for the document."""

    status: str
    ksef_number: str = ""
    description: str = ""
    finished_at: datetime | None = None
    sent: bool = True
