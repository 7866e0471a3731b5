"""Source `expenses`: expense-report or corporate-card exports (CSV), one line per charge.

Every expense system names its columns differently, so which column holds what is
set in `guardrails.yaml`:

```yaml
discover:
  expenses:
    export: exports/card-2026.csv
    columns:              # field: the column's header (these are the defaults)
      merchant: Merchant  # required
      amount: Amount      # required; refunds are negative
      date: Date          # required
      currency: Currency  # optional column; else `currency` below
      employee: Employee  # optional: email (or name) of who paid
      memo: Memo          # optional
      category: Category  # optional: the system's expense category
    date_format: "%Y-%m-%d"
    currency: USD         # when there is no currency column
    decimal_comma: false  # true: amounts are written 1.234,56
    delimiter: ","
```

A line that lacks a required value, or whose amount, date or currency cannot be
read, is an error naming the file and line: an expense is never dropped silently.
There is no live fetching: expense systems export files.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from guardrails.catalog.tree import display_path
from guardrails.discover.http import Limits
from guardrails.discover.interface import Evidence, Money, Origin, SourceError, SourceSettings
from guardrails.discover.records import export_files, read_bytes
from guardrails.discover.settings import option, option_map
from guardrails.errors import GuardrailsError

FIELDS = ("merchant", "amount", "date", "currency", "employee", "memo", "category")
REQUIRED = ("merchant", "amount", "date")
DEFAULT_COLUMNS = {field: field.capitalize() for field in FIELDS}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SYMBOLS = re.compile(r"[\s$€£¥]")


class Expenses:
    """Expense and card exports (CSV) with a configurable column mapping."""

    name = "expenses"
    title = "Expense exports"
    settings_keys = frozenset({"columns", "date_format", "currency", "decimal_comma", "delimiter"})

    def read(self, paths: Sequence[Path], settings: SourceSettings) -> Iterator[Evidence]:
        """Evidence from each line of each CSV export."""
        layout = Layout.from_settings(settings)
        for file in export_files(paths, (".csv",)):
            yield from layout.read(file)

    def fetch(self, settings: SourceSettings, limits: Limits) -> Iterator[Evidence]:
        """Expense systems export files; there is nothing to fetch."""
        raise SourceError(
            "expenses: no live fetching: export the card or expense lines as CSV and "
            "pass them with --from expenses=FILE (or discover.expenses.export)"
        )


class Layout:
    """How to read one expense system's CSV."""

    def __init__(
        self,
        columns: Mapping[str, str],
        date_format: str,
        currency: str,
        decimal_comma: bool,
        delimiter: str,
        explicit: frozenset[str] = frozenset(),
    ) -> None:
        self.columns, self.date_format, self.currency = columns, date_format, currency
        self.decimal_comma, self.delimiter = decimal_comma, delimiter
        self.explicit = explicit
        """Optional fields whose column the settings name: that column must exist."""

    @classmethod
    def from_settings(cls, settings: SourceSettings) -> Layout:
        """The layout `discover.expenses` describes, checked."""
        mapped = option_map(settings, "columns")
        for field in mapped:
            if field not in FIELDS:
                raise GuardrailsError(
                    f"guardrails.yaml: discover.expenses.columns.{field}: unknown field; "
                    f"fields are {', '.join(FIELDS)}"
                )
        currency = (option(settings, "currency", "USD") or "USD").upper()
        if not _CURRENCY.match(currency):
            raise GuardrailsError(
                "guardrails.yaml: discover.expenses.currency must be an ISO 4217 code"
            )
        delimiter = option(settings, "delimiter", ",") or ","
        if len(delimiter) != 1:
            raise GuardrailsError(
                "guardrails.yaml: discover.expenses.delimiter must be 1 character"
            )
        comma = settings.options.get("decimal_comma", False)
        if not isinstance(comma, bool):
            raise GuardrailsError(
                "guardrails.yaml: discover.expenses.decimal_comma must be true or false"
            )
        return cls(
            {**DEFAULT_COLUMNS, **mapped},
            option(settings, "date_format", "%Y-%m-%d") or "%Y-%m-%d",
            currency,
            comma,
            delimiter,
            frozenset(mapped),
        )

    def read(self, path: Path) -> Iterator[Evidence]:
        """Evidence from each line of one export."""
        shown = display_path(path)
        try:
            text = read_bytes(path).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise SourceError(f"{shown}: not UTF-8 (byte {err.start})") from err
        reader = csv.reader(text.splitlines(keepends=True), delimiter=self.delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration as cause:
            raise SourceError(f"{shown}:1: empty: expected a header line") from cause
        except csv.Error as err:
            raise SourceError(f"{shown}:1: not CSV: {err}") from err
        index = {name.strip(): i for i, name in enumerate(header)}
        where: dict[str, int] = {}
        for field in FIELDS:
            column = self.columns[field]
            if column in index:
                where[field] = index[column]
            elif field in REQUIRED or field in self.explicit:
                raise SourceError(
                    f"{shown}:1: no column {column!r} for the {field} "
                    f"(discover.expenses.columns.{field}); the columns are: "
                    f"{', '.join(repr(h) for h in header)}"
                )
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise SourceError(f"{shown}:{start}: not CSV: {err}") from err
            line = start
            if not any(cell.strip() for cell in row):
                continue  # a blank line holds no expense
            if len(row) != len(header):
                raise SourceError(
                    f"{shown}:{line}: {len(row)} values, but the header has {len(header)} columns"
                )
            yield self._expense(row, where, Origin(shown, line=line))

    def _expense(self, row: list[str], where: Mapping[str, int], origin: Origin) -> Evidence:
        def value(field: str) -> str:
            return row[where[field]].strip() if field in where else ""

        for field in REQUIRED:
            if not value(field):
                raise SourceError(f"{origin.file}:{origin.line}: the {field} is empty")
        amount = self._amount(value("amount"), origin)
        currency = (value("currency") or self.currency).upper()
        if not _CURRENCY.match(currency):
            raise SourceError(
                f"{origin.file}:{origin.line}: currency {currency!r} is not an ISO 4217 code"
            )
        try:
            when: date = (
                date.fromisoformat(value("date"))  # the default format, 20 times faster
                if self.date_format == "%Y-%m-%d" and len(value("date")) == 10
                else datetime.strptime(value("date"), self.date_format).date()
            )
        except ValueError as cause:
            raise SourceError(
                f"{origin.file}:{origin.line}: date {value('date')!r} does not match "
                f"{self.date_format!r} (discover.expenses.date_format)"
            ) from cause
        employee = value("employee").lower()
        return Evidence(
            source="expenses",
            kind="expense",
            app=value("merchant"),
            origin=origin,
            person=employee or None,
            seen=when,
            spend=Money(amount, currency),
            memo=value("memo"),
            category=value("category"),
        )

    def _amount(self, text: str, origin: Origin) -> Decimal:
        cleaned = _SYMBOLS.sub("", text)
        if cleaned.startswith("(") and cleaned.endswith(")"):  # accounting negative
            cleaned = "-" + cleaned[1:-1]
        if self.decimal_comma:
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
        try:
            amount = Decimal(cleaned)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise SourceError(f"{origin.file}:{origin.line}: amount {text!r} is not a number")
        return amount
