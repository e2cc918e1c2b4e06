"""
Spreadsheets and CSV files the plugin writes, from text grantees and applicants typed: no cell becomes a formula
(pretix's ``SafeWorkbook`` for xlsx, ``defusedcsv`` for CSV, as pretix's own exporters) and no control character
reaches a file (Excel refuses them, and they have no place in a payout list).
"""
import functools
import io
import re

from defusedcsv import csv
from pretix.helpers.safe_openpyxl import (
    SafeWorkbook, remove_invalid_excel_chars,
)

# C0 and C1 control characters except tab and line breaks, and the other characters XML (so xlsx) refuses
CONTROL = re.compile(r'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]')


def clean_cell(value):
    """A cell's value without control characters; numbers, dates and empty cells stay as they are."""
    if isinstance(value, str):
        return CONTROL.sub('', value)
    return value


def clean_row(row):
    return [clean_cell(v) for v in row]


def csv_bytes(header, rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(clean_row([str(v) for v in header]))
    for row in rows:
        writer.writerow(clean_row(['' if v is None else str(v) for v in row]))
    return out.getvalue().encode('utf-8')


def xlsx_bytes(title, header, rows):
    wb = SafeWorkbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    ws.append([remove_invalid_excel_chars(clean_cell(str(v))) for v in header])
    for row in rows:
        ws.append([remove_invalid_excel_chars(clean_cell(v)) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def clean_rows(iterate_list):
    """For an exporter's ``iterate_list``: every row it yields without control characters (pretix's ``ListExporter``
    already writes xlsx through ``SafeWorkbook`` and CSV through ``defusedcsv``)."""
    @functools.wraps(iterate_list)
    def wrapped(self, form_data):
        for row in iterate_list(self, form_data):
            yield clean_row(row) if isinstance(row, (list, tuple)) else row
    return wrapped
