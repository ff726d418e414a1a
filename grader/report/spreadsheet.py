"""CSV files staff open in a spreadsheet: the gradebook, similarity.csv, the LMS imports."""

import csv
import io


def cell(value):
    """No spreadsheet formula from a student-controlled name."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def text(rows):
    """``rows`` as CSV text (write it with ``newline=""``)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
