"""Compare the schemas of two SQLite databases, ignoring column order.

    python scripts/schema_compare.py A.sqlite3 B.sqlite3 [--only PREFIX]

Each table is compared as the set of its column and constraint definitions
(as SQLite stores them, split at top-level commas), each index by its SQL.
Prints every difference and exits 1 when there is one. `.ci/run` uses it to
show that `migrate`'s one-step dj-stripe schema (levqor/management/commands/
migrate.py) is the one dj-stripe's migrations build.
"""

import argparse
import re
import sqlite3
import sys


def _definitions(create_sql: str) -> set[str]:
    body = create_sql[create_sql.index("(") + 1 : create_sql.rindex(")")]
    parts, depth, current = [], 0, []
    for char in body:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return {re.sub(r"\s+", " ", part).strip() for part in parts if part.strip()}


def schema(path: str, prefix: str) -> tuple[dict[str, set[str]], set[str]]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    db.close()
    tables = {
        name: _definitions(sql)
        for kind, name, table, sql in rows
        if kind == "table" and name.startswith(prefix) and name != "sqlite_sequence"
    }
    indexes = {
        re.sub(r"\s+", " ", sql).strip()
        for kind, name, table, sql in rows
        if kind == "index" and table.startswith(prefix)
    }
    return tables, indexes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--only", default="", help="compare only tables whose name starts with this")
    args = parser.parse_args()
    tables_a, indexes_a = schema(args.first, args.only)
    tables_b, indexes_b = schema(args.second, args.only)
    differences = []
    for name in sorted(tables_a.keys() ^ tables_b.keys()):
        differences.append(f"table {name} only in {'first' if name in tables_a else 'second'}")
    for name in sorted(tables_a.keys() & tables_b.keys()):
        for definition in sorted(tables_a[name] - tables_b[name]):
            differences.append(f"{name}: only in first: {definition}")
        for definition in sorted(tables_b[name] - tables_a[name]):
            differences.append(f"{name}: only in second: {definition}")
    for sql in sorted(indexes_a - indexes_b):
        differences.append(f"index only in first: {sql}")
    for sql in sorted(indexes_b - indexes_a):
        differences.append(f"index only in second: {sql}")
    for line in differences:
        print(line)
    print(f"{len(tables_a)} tables and {len(indexes_a)} indexes compared: {len(differences)} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
