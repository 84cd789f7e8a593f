"""Checks two interval tables are equal: same rows, same header; integers exactly, averages and
ratios within 1e-6 (relative) since the two tools print floating point differently.

usage: python3 compare.py OURS.csv DUCKDB.csv     (exit 1 and the first differences if not)
"""
import csv
import math
import sys

FLOAT_COLUMNS = {"aht_ms", "asa_ms", "sl_only_handled", "sl_without_abandon",
                 "sl_positive_abandon", "sl_negative_abandon"}


def load(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def same(column, a, b):
    if a == b:
        return True
    if column not in FLOAT_COLUMNS or a == "" or b == "":
        return False
    return math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-6)


ours_header, ours = load(sys.argv[1])
theirs_header, theirs = load(sys.argv[2])
problems = []
if ours_header != theirs_header:
    problems.append(f"headers differ:\n  {ours_header}\n  {theirs_header}")
if len(ours) != len(theirs):
    problems.append(f"row counts differ: {len(ours)} vs {len(theirs)}")
for n, (a, b) in enumerate(zip(ours, theirs), start=2):
    for column, x, y in zip(ours_header, a, b):
        if not same(column, x, y):
            problems.append(f"line {n} ({a[0]} {a[1]}) {column}: ours {x!r}, duckdb {y!r}")
            break
    if len(problems) > 10:
        break
if problems:
    print("outputs DIFFER:", *problems, sep="\n  ")
    sys.exit(1)
print(f"outputs equal: {len(ours)} intervals, {len(ours_header)} columns")
