"""Every state change of series and documents: the only writers of accounting rows.

issuing (faktura, paragon, pro forma from an order), corrections, cancellation, receipts, the PDF, series.
Every public name is re-exported here: `from accounting import services; services.document_issue(...)`.
"""

from .cancellation import document_cancel, document_delivery_reasons
from .corrections import (
    LineChange,
    document_chain,
    document_chain_current_lines,
    document_chain_head,
    document_chain_root,
    document_correct,
    document_current_lines,
)
from .errors import DocumentAlreadyIssued, OrderNotInvoiceable, SeriesMisconfigured, Unprocessable
from .issuing import LineInput, document_issue
from .pdf import document_pdf
from .receipts import RECEIPT_PAYMENTS
from .rules import SPLIT_PAYMENT_THRESHOLD
from .series import (
    DEFAULT_SERIES_NAMES,
    SERIES_FIELDS,
    series_account_mismatches,
    series_delete,
    series_save,
    series_setup_defaults,
)

__all__ = [
    "DEFAULT_SERIES_NAMES",
    "RECEIPT_PAYMENTS",
    "SERIES_FIELDS",
    "SPLIT_PAYMENT_THRESHOLD",
    "DocumentAlreadyIssued",
    "LineChange",
    "LineInput",
    "OrderNotInvoiceable",
    "SeriesMisconfigured",
    "Unprocessable",
    "document_cancel",
    "document_chain",
    "document_chain_current_lines",
    "document_chain_head",
    "document_chain_root",
    "document_correct",
    "document_current_lines",
    "document_delivery_reasons",
    "document_issue",
    "document_pdf",
    "series_account_mismatches",
    "series_delete",
    "series_save",
    "series_setup_defaults",
]
