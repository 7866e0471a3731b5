"""The CIO–CMO view of a catalog: `guardrails report`.

Spend, total cost of ownership, renewals, seats, expiring certificates and exceptions,
findings and shadow IT, on one page. The figures are computed once (`figures.py`,
into the frozen dataclasses of `model.py`) and rendered by one module per format
(`formats/`: html, markdown, csv, json), each from the same `Overview`.

(`guardrails/report/` holds the formats of `check`'s findings; this is a different
document for different readers, so it has its own package.)
"""
