"""Settle's business: money, customers, invoices, policies, dunning, law, reconciliation.

Nothing in this package imports a web framework or a payment provider's SDK.
"""
