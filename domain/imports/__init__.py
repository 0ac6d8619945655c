"""Invoice import from CSV and UBL 2.1 (PEPPOL BIS Billing 3.0) files: all or nothing."""

from domain.imports.invoices import ImportFailed, ImportResult, InvoiceRow, apply, parse_file

__all__ = ["ImportFailed", "ImportResult", "InvoiceRow", "apply", "parse_file"]
