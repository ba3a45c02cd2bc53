"""The SQL guard: decides whether SQL written by a selector (rules or an LLM) may run.

The guard is the first of two locks (the second is ``coview.engine.runner``, a sandboxed
read-only DuckDB connection). It parses the text with sqlglot's DuckDB dialect and accepts
only one read-only query over the schema-v1 tables. Every rejection raises ``GuardError``
with a message written for a model to fix on retry ("column configs.latency_ms does not
exist; configs has: latency_s, ...").

Rules, in order:
1. The text parses (sqlglot's message otherwise) and holds exactly one statement; comments
   never hide a second one because the SQL that runs is regenerated from the parse tree
   with comments dropped.
2. The root is a SELECT or a set operation (UNION / INTERSECT / EXCEPT), possibly under WITH.
3. No DML/DDL/COPY/ATTACH/PRAGMA/SET/INSTALL/... node anywhere in the tree
   (``WITH d AS (DELETE ...) SELECT`` has a SELECT root).
4. No table functions (read_csv, glob, range, duckdb_tables(), query(), ...) and no file
   paths as tables; no dangerous scalar functions (getenv, current_setting, read_text, ...).
5. Table references name schema tables or CTEs only: no other database or schema, no
   information_schema, no duckdb_* or coview_meta. Each reference is resolved in its own
   scope (sqlglot's optimizer.scope): a CTE defined in a subquery does not cover a table of
   the same name outside it, and no CTE may shadow a schema table.
6. Every column exists (sqlglot's optimizer qualifies columns against the catalog).
7. Size: at most MAX_SQL_CHARS characters, MAX_NESTING nested parentheses and MAX_NODES
   parse nodes (so the guard itself stays fast and never recurses too deep), and functions
   that build a value as large as an argument (repeat, list_resize, lpad, ...) only with a
   literal size up to MAX_BUILT_SIZE.

``store_columns`` tells which output columns hold values read from store tables (not
literals written into the SQL); the grounding check counts only those.

``WITH RECURSIVE`` is allowed: recursive CTEs are legitimate SQL, and one that never ends
is stopped by the runner's time and memory limits. ``check`` returns the normalised SQL
*without* a row cap; the runner applies the cap (LIMIT cap+1) so truncation can be reported.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Mapping
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

DIALECT = "duckdb"


class GuardError(Exception):
    """The SQL may not run; the message says what is wrong and how to fix it."""


def _exp_types(*names: str) -> tuple[type[exp.Expression], ...]:
    """The sqlglot expression classes with these names that this sqlglot version has."""
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


# Statement and clause nodes that never belong in a read-only query, wherever they appear.
_FORBIDDEN_NODES = _exp_types(
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Drop",
    "Create",
    "Alter",
    "TruncateTable",
    "Copy",
    "Attach",
    "Detach",
    "Pragma",
    "Set",
    "Command",
    "Transaction",
    "Commit",
    "Rollback",
    "Use",
    "Install",
    "Describe",
    "Summarize",
    "Show",
    "Into",
    "Export",
    "Comment",
    "Cache",
    "Uncache",
    "Refresh",
    "Grant",
    "Revoke",
    "Analyze",
    "Kill",
    "Declare",
    "LoadData",
    "Returning",
    "Execute",
    "Put",
    "Get",
)

# What a statement node is called in messages (default: its first keyword in the text).
_NODE_WORDS = {
    "TruncateTable": "TRUNCATE",
    "Transaction": "BEGIN",
    "Into": "SELECT ... INTO",
    "Returning": "RETURNING",
    "LoadData": "LOAD DATA",
}

# Functions a query over the schema never needs and that reach outside the data: files,
# the environment, settings, the catalog, extensions, sequences.
_DENIED_FUNCTIONS = frozenset(
    {
        "getenv",
        "current_setting",
        "getvariable",
        "system",
        "shell",
        "glob",
        "query",
        "query_table",
        "sniff_csv",
        "range",
        "generate_series",
        "generate_subscripts",
        "repeat_row",
        "nextval",
        "currval",
        "setval",
        "checkpoint",
        "force_checkpoint",
        "which_secret",
        "current_database",
        "current_catalog",
        "current_schema",
        "current_schemas",
        "current_query",
        "current_user",
        "session_user",
        "user",
        "version",
        "pg_typeof",
        "has_table_privilege",
        "has_schema_privilege",
        "has_any_column_privilege",
        "has_column_privilege",
        "has_database_privilege",
        "has_function_privilege",
        "has_language_privilege",
        "has_sequence_privilege",
        "has_server_privilege",
        "has_tablespace_privilege",
        "pg_get_viewdef",
        "pg_get_constraintdef",
        "pg_get_expr",
        "pg_has_role",
        "col_description",
        "obj_description",
        "shobj_description",
        "format_pg_type",
        "load_aws_credentials",
        "install_extension",
        "load_extension",
        "enable_profiling",
        "enable_logging",
        "export_database",
        "import_database",
        "st_read",
        "st_read_meta",
        "json_execute_serialized_sql",
        "json_serialize_sql",
        "json_deserialize_sql",
        "arrow_scan",
        "pandas_scan",
        "python_map_function",
        "seq_scan",
        "index_scan",
        "table_info",
        "show_databases",
        "summary",
        "unnest_json",
        "test_all_types",
        "test_vector_types",
    }
)
_DENIED_PREFIXES = (
    "read_",
    "duckdb_",
    "pragma_",
    "parquet_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "iceberg_",
    "delta_",
    "ducklake_",
    "http",
    "s3_",
    "gcs_",
    "azure_",
    "md_",
    "motherduck",
    "pg_",
    "fts_",
    "load_",
    "install_",
    "scan_",
    "csv_",
    "json_read",
)

_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")

# Row sources that are pure expressions over literals (no I/O), allowed in FROM.
_PURE_SOURCES = _exp_types("Unnest", "Values")


def _function_names(node: exp.Func) -> set[str]:
    """The names a function node may be called by in DuckDB (sqlglot renames some)."""
    names: set[str] = set()
    if isinstance(node, exp.Anonymous):
        names.add(str(node.name).lower())
    else:
        names.add(node.sql_name().lower())
        for fn_name in getattr(node, "_sql_names", None) or []:
            names.add(fn_name.lower())
        try:
            text = node.sql(dialect=DIALECT, comments=False)
        except SqlglotError:
            text = ""
        head = text.split("(", 1)[0].strip().lower()
        if head and head.replace("_", "").isalnum():
            names.add(head)
    return names


def _denied(name: str) -> bool:
    return name in _DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES)


def _statement_word(node: exp.Expression, text: str) -> str:
    """What to call a statement in a message: DELETE, DROP, LOAD, CHECKPOINT..."""
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    name = type(node).__name__
    if name in _NODE_WORDS:
        return _NODE_WORDS[name]
    if isinstance(node, exp.Expression) and node.key and type(node) not in (exp.Column,):
        word = node.key.upper()
        if word not in ("ANONYMOUS", "IDENTIFIER", "LITERAL", "PAREN"):
            return word
    first = text.strip().split(None, 1)
    return first[0].upper().rstrip(";") if first else "nothing"


class Catalog:
    """The tables and columns LLM-written SQL may use, and the check against them."""

    def __init__(self, tables: Mapping[str, Mapping[str, str] | list[str]]) -> None:
        """`tables` maps table name to its columns, as {column: sql_type} or a list of names."""
        self._types: dict[str, dict[str, str]] = {}
        for table, cols in tables.items():
            if isinstance(cols, Mapping):
                self._types[table.lower()] = {c.lower(): str(t) for c, t in cols.items()}
            else:
                self._types[table.lower()] = {c.lower(): "UNKNOWN" for c in cols}

    @classmethod
    def from_store(cls, store_path: Path, con=None) -> Catalog:
        """Read the schema-v1 tables present in the store and their actual columns.

        Only the documented data tables are exposed (not coview_meta, not DuckDB's own
        catalogs). Uses a short-lived read-only connection in a private in-memory DuckDB
        instance (see ``coview.engine.runner`` for why not ``duckdb.connect(path)``), or
        `con`, an ``open_sandbox`` connection to this store the caller keeps (and closes).
        """
        from coview.engine.runner import open_sandbox
        from coview.store.db import StoreError, require_store
        from coview.store.schema import TABLES

        path = require_store(store_path)
        own = con is None
        if own:
            try:
                con = open_sandbox(path, memory_limit="256MB", threads=1)
            except Exception as exc:  # duckdb.Error and OS errors alike
                raise StoreError(f"Cannot open store {path}: {exc}") from exc
        try:
            rows = con.execute(
                "SELECT table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE database_name = current_database() AND schema_name = 'main' "
                "ORDER BY table_name, column_index"
            ).fetchall()
        finally:
            if own:
                con.close()
        wanted = [t.name for t in TABLES]
        found: dict[str, dict[str, str]] = {}
        for table, column, dtype in rows:
            if table in wanted:
                found.setdefault(table, {})[column] = dtype
        if not found:
            raise StoreError(
                f"{path} holds none of coview's tables ({', '.join(wanted)}); is it a coview "
                "store? Create one with `coview ingest DATA --store FILE`."
            )
        return cls({t: found[t] for t in wanted if t in found})

    @property
    def tables(self) -> dict[str, list[str]]:
        """Table name -> column names, in schema order."""
        return {t: list(cols) for t, cols in self._types.items()}

    @property
    def column_types(self) -> dict[str, dict[str, str]]:
        """Table name -> {column name: DuckDB type}."""
        return {t: dict(cols) for t, cols in self._types.items()}

    def _table_list(self) -> str:
        return ", ".join(self._types)

    def _has(self, table: str) -> str:
        return f"{table} has: {', '.join(self._types[table])}"

    # -- the check ---------------------------------------------------------------------

    def check(self, sql: str) -> str:
        """Return the SQL to run (regenerated from the parse tree, no row cap) or raise GuardError."""
        _check_size(sql)
        try:
            tree = self._parse_one(sql)
            _check_node_count(tree)
            self._check_root(tree, sql)
            self._check_nodes(tree, sql)
            cte_names = self._check_tables(tree)
            self._check_columns(tree, cte_names)
            return tree.sql(dialect=DIALECT, comments=False)
        except RecursionError as exc:
            raise GuardError(
                "the SQL is nested too deeply to check; write a flatter query "
                "(fewer nested parentheses or subqueries)"
            ) from exc
        except SqlglotError as exc:  # pragma: no cover - generator failures are rare
            raise GuardError(f"the SQL could not be normalised: {exc}") from exc

    def store_columns(self, sql: str) -> list[bool] | None:
        """For each output column of the (guarded) SELECT, whether its values are read from
        a store table; None when that cannot be worked out (treat every column as unread).

        The grounding check counts only such columns: a number written into the SQL as a
        literal (``SELECT 0.00042 AS latency_s FROM configs``) is not evidence.
        """
        try:
            tree = sqlglot.parse_one(sql, dialect=DIALECT)
            return _store_derived_outputs(tree, self.tables)
        except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError):
            return None

    def _parse_one(self, sql: str) -> exp.Expression:
        if not isinstance(sql, str) or not sql.strip():
            raise GuardError("the SQL is empty; write one SELECT statement")
        if "\x00" in sql:
            raise GuardError("the SQL contains a NUL character; write plain SQL text")
        sqlglot_logger = logging.getLogger("sqlglot")
        level = sqlglot_logger.level
        sqlglot_logger.setLevel(logging.ERROR)  # "falling back to Command" is our business
        try:
            parsed = sqlglot.parse(sql, dialect=DIALECT)
        except ParseError as exc:
            errors = exc.errors or []
            detail = "; ".join(
                f"{e.get('description')} at line {e.get('line')}, column {e.get('col')}"
                + (f" near {e.get('highlight')!r}" if e.get("highlight") else "")
                for e in errors[:3]
            )
            raise GuardError(f"the SQL does not parse: {detail or exc}") from exc
        except SqlglotError as exc:
            raise GuardError(f"the SQL does not parse: {exc}") from exc
        finally:
            sqlglot_logger.setLevel(level)
        statements = [e for e in parsed if e is not None and not isinstance(e, exp.Semicolon)]
        if not statements:
            raise GuardError("the SQL holds no statement; write one SELECT statement")
        if len(statements) > 1:
            words = ", ".join(_statement_word(s, s.sql(dialect=DIALECT)) for s in statements)
            raise GuardError(
                f"exactly one statement is allowed; found {len(statements)} ({words}). "
                "Write a single SELECT with no ';' between statements"
            )
        return statements[0]

    def _check_root(self, tree: exp.Expression, sql: str) -> None:
        if isinstance(tree, exp.Select | exp.SetOperation):
            return
        if isinstance(tree, exp.Subquery) and isinstance(
            tree.unnest(), exp.Select | exp.SetOperation
        ):
            return
        raise GuardError(
            f"only SELECT statements are allowed; found {_statement_word(tree, sql)}. "
            "coview's store is read-only: write one SELECT (WITH and UNION are fine)"
        )

    def _check_nodes(self, tree: exp.Expression, sql: str) -> None:
        for node in tree.walk():
            if isinstance(node, _FORBIDDEN_NODES):
                word = _statement_word(node, node.sql(dialect=DIALECT))
                raise GuardError(
                    f"only SELECT statements are allowed; found {word} inside the query. "
                    "Remove it: queries may only read the data"
                )
            if isinstance(node, exp.Func):
                _check_value_size(node)
                names = _function_names(node)
                bad = sorted(n for n in names if _denied(n))
                if bad:
                    written = [n for n in bad if n in sql.lower()]
                    raise GuardError(
                        f"function {(written or bad)[0]}() is not allowed: queries may only read the tables "
                        f"{self._table_list()}"
                    )

    def _check_tables(self, tree: exp.Expression) -> set[str]:
        """Check every table reference; return the CTE names defined in the query."""
        cte_names = {str(cte.alias_or_name).lower() for cte in tree.find_all(exp.CTE)}
        for cte in sorted(cte_names):
            # A CTE named like a file, referenced outside its scope, would be a file scan.
            if not _PLAIN_NAME.fullmatch(cte):
                raise GuardError(
                    f"CTE name {cte!r} is not allowed: name CTEs with letters, digits and "
                    "underscores only"
                )
        for cte in sorted(cte_names):
            if cte in self._types:
                raise GuardError(
                    f"CTE name {cte} is a store table's name: a CTE may not shadow a table. "
                    f"Rename the CTE (e.g. {cte}_q) and query the table {cte} itself"
                )
        cte_refs = _cte_references(tree)
        for table in tree.find_all(exp.Table):
            target = table.this
            if not isinstance(target, exp.Identifier):
                fn = (
                    target.name
                    if isinstance(target, exp.Anonymous)
                    else target.sql_name()
                    if isinstance(target, exp.Func)
                    else target.sql(DIALECT)
                )
                raise GuardError(
                    f"table function {str(fn).lower()}() is not allowed in FROM; query only the "
                    f"tables {self._table_list()} (and CTEs defined in the query)"
                )
            name = str(target.this)
            lname = name.lower()
            qualifier = ".".join(p for p in (table.catalog, table.db) if p)
            if qualifier and not (not table.catalog and table.db.lower() == "main"):
                raise GuardError(
                    f"table {qualifier}.{name} is not allowed: write table names without a "
                    f"database or schema; the tables are {self._table_list()}"
                )
            if id(table) in cte_refs and not qualifier:
                continue  # resolved, in its own scope, to a CTE visible there
            if lname in self._types:
                continue
            if (
                any(ch in name for ch in "/\\.:~*?")
                or target.quoted
                and lname.endswith((".csv", ".parquet", ".json", ".txt", ".tsv", ".db", ".duckdb"))
            ):
                raise GuardError(
                    f"file paths are not allowed as tables (found {name!r}); query only the "
                    f"tables {self._table_list()}"
                )
            odd = " (the name contains non-ASCII characters)" if not name.isascii() else ""
            raise GuardError(
                f"table {name} does not exist{odd}; the tables are {self._table_list()}"
                + (" (and the CTEs " + ", ".join(sorted(cte_names)) + ")" if cte_names else "")
            )
        for node in tree.walk():
            # FROM/JOIN items that are neither tables, subqueries nor pure row sources.
            if isinstance(node, exp.From | exp.Join):
                item = node.this
                if isinstance(item, (exp.Table, exp.Subquery, *_PURE_SOURCES)):
                    continue
                if isinstance(item, exp.Func):
                    raise GuardError(
                        f"table function {sorted(_function_names(item))[0]}() is not allowed in "
                        f"FROM; query only the tables {self._table_list()}"
                    )
        return cte_names

    def _schema(self) -> dict[str, dict[str, str]]:
        return {t: dict(cols) for t, cols in self._types.items()}

    def _check_columns(self, tree: exp.Expression, cte_names: set[str]) -> None:
        """Qualify columns with sqlglot's optimizer; name unknown columns and their table.

        Safety does not depend on this step (the runner's sandbox does); it exists so a
        model hears precisely which column is wrong. When sqlglot cannot resolve something
        that is not a missing column (e.g. a PIVOT in FROM), DuckDB's binder decides, and
        its error goes back to the selector the same way.
        """
        schema = self._schema()
        try:
            qualify(
                tree.copy(),
                schema=schema,
                dialect=DIALECT,
                validate_qualify_columns=True,
                quote_identifiers=False,
                identify=False,
            )
            return
        except Exception:  # noqa: BLE001 - any optimizer failure: look for the culprit
            pass
        try:
            loose = qualify(
                tree.copy(),
                schema=schema,
                dialect=DIALECT,
                validate_qualify_columns=False,
                allow_partial_qualification=True,
                quote_identifiers=False,
                identify=False,
            )
            culprit = self._find_unknown_column(loose)
        except Exception:  # noqa: BLE001
            culprit = None
        if culprit:
            raise GuardError(culprit)

    def _unknown(self, table: str, column: str, alias: str | None = None) -> str:
        cols = list(self._types[table])
        hint = difflib.get_close_matches(column.lower(), cols, n=1)
        where = (
            f"{alias}.{column} does not exist ({alias} is {table})"
            if alias
            else (f"{table}.{column} does not exist")
        )
        return f"column {where}; {self._has(table)}" + (
            f" (did you mean {hint[0]}?)" if hint else ""
        )

    def _find_unknown_column(self, tree: exp.Expression) -> str | None:
        """The first column that resolves to nothing, described so a model can fix it."""
        for scope in traverse_scope(tree):
            for col in scope.columns:
                name = col.name.lower()
                if not name or isinstance(col.this, exp.Star):
                    continue
                if col.table:
                    source = scope.sources.get(col.table)
                    if isinstance(source, exp.Table):
                        real = source.name.lower()
                        if real in self._types and name not in self._types[real]:
                            alias = None if col.table.lower() == real else col.table
                            return self._unknown(real, col.name, alias)
                    elif isinstance(source, Scope):
                        selects = list(source.expression.named_selects)
                        if "*" not in selects and name not in [s.lower() for s in selects]:
                            return (
                                f"column {col.table}.{col.name} does not exist; {col.table} "
                                f"has: {', '.join(selects)}"
                            )
                    elif source is None and not _outer_source(scope, col.table):
                        return (
                            f"{col.table}.{col.name} refers to {col.table}, which is not a table "
                            f"or alias in this query; the tables are {self._table_list()}"
                        )
                    continue
                holders = []
                for alias, source in scope.sources.items():
                    if isinstance(source, exp.Table) and source.name.lower() in self._types:
                        if name in self._types[source.name.lower()]:
                            holders.append(alias)
                    elif isinstance(source, Scope):
                        if name in [s.lower() for s in source.expression.named_selects]:
                            holders.append(alias)
                if len(holders) > 1:
                    return (
                        f"column {col.name} is ambiguous: it exists in {', '.join(holders)}; "
                        f"qualify it, e.g. {holders[0]}.{col.name}"
                    )
                real_tables = list(
                    dict.fromkeys(
                        s.name.lower()
                        for s in scope.sources.values()
                        if isinstance(s, exp.Table) and s.name.lower() in self._types
                    )
                )
                if holders or not real_tables or _is_alias(scope, col, name):
                    continue
                if len(real_tables) == 1:
                    return self._unknown(real_tables[0], col.name)
                every = [c for t in real_tables for c in self._types[t]]
                hint = difflib.get_close_matches(name, every, n=1)
                return (
                    f"column {col.name} does not exist in {' or '.join(real_tables)}; "
                    + "; ".join(self._has(t) for t in real_tables)
                    + (f" (did you mean {hint[0]}?)" if hint else "")
                )
        return None


# Limits that keep the guard itself fast (a 200,000-value IN list took 16 s to check).
MAX_SQL_CHARS = 20_000
MAX_NESTING = 64
MAX_NODES = 5_000
# Functions that build a value whose size is one of their arguments: the argument must be
# an integer literal no larger than this (DuckDB's memory limit does not cover such values).
MAX_BUILT_SIZE = 10_000
_SIZE_ARGS = {
    "repeat": 1,
    "list_resize": 1,
    "array_resize": 1,
    "lpad": 1,
    "rpad": 1,
    "list_repeat": 1,
    "array_repeat": 1,
    "bar": 3,
}
_FORMAT_FUNCTIONS = frozenset({"printf", "format", "format_bytes"})
# sqlglot classes some of those parse into (their sql_name differs from the DuckDB name).
_SIZE_NODES = _exp_types("Repeat", "Pad", "Format", "ArrayResize", "ListResize")


def _check_size(sql: object) -> None:
    """Refuse SQL too long or too deeply nested to check quickly, before parsing it."""
    if not isinstance(sql, str):
        return
    if len(sql) > MAX_SQL_CHARS:
        raise GuardError(
            f"the SQL is {len(sql):,} characters, over the {MAX_SQL_CHARS:,} allowed; write a "
            "shorter query (e.g. a join or a range condition instead of a long IN list)"
        )
    depth = deepest = 0
    for ch in sql:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    if deepest > MAX_NESTING:
        raise GuardError(
            f"the SQL nests parentheses {deepest} deep, over the {MAX_NESTING} allowed; "
            "write a flatter query"
        )


def _check_node_count(tree: exp.Expression) -> None:
    count = 0
    for _ in tree.walk():
        count += 1
        if count > MAX_NODES:
            raise GuardError(
                f"the SQL has more than {MAX_NODES:,} parts; write a shorter query "
                "(e.g. a join or a range condition instead of a long IN list)"
            )


def _int_literal(node: exp.Expression | None) -> float | None:
    """The numeric value of a literal (or a negated one, or a cast of one), else None."""
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        inner = _int_literal(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    return None


def _check_value_size(node: exp.Func) -> None:
    """Refuse calls that build a huge string or list (repeat('x', 1e8), list_resize(l, 4e8))."""
    cheap = str(node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
    if (
        cheap not in _SIZE_ARGS
        and cheap not in _FORMAT_FUNCTIONS
        and not isinstance(node, _SIZE_NODES)
    ):
        return  # the common case, without rendering the node to SQL
    names = {n for n in _function_names(node) if n in _SIZE_ARGS or n in _FORMAT_FUNCTIONS}
    if not names:
        return
    if isinstance(node, exp.Anonymous):
        args = list(node.expressions)
    else:
        args = []
        for value in node.args.values():
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, exp.Expression):
                    args.append(v)
    name = sorted(names)[0]
    if name in _FORMAT_FUNCTIONS:
        for lit in node.find_all(exp.Literal):
            if lit.is_string and re.search(r"\d{5,}|\*", lit.this):
                raise GuardError(
                    f"{name}() with a field width this large is not allowed; format values "
                    "with round() or plain casts"
                )
        return
    # The size argument: the literal among the arguments (sqlglot reorders some).
    sizes = [_int_literal(a) for a in args[1:]] if len(args) > 1 else []
    known = [v for v in sizes if v is not None]
    if not known or len(known) < len(sizes) and name not in ("lpad", "rpad"):
        raise GuardError(
            f"{name}() needs a literal size (at most {MAX_BUILT_SIZE:,}); a computed size "
            "can build a value larger than memory"
        )
    if any(abs(v) > MAX_BUILT_SIZE for v in known):
        raise GuardError(
            f"{name}() with a size over {MAX_BUILT_SIZE:,} is not allowed: it builds a value "
            "larger than the query's memory limit covers"
        )


def _cte_references(tree: exp.Expression) -> set[int]:
    """ids of the Table nodes that sqlglot's scope analysis resolves to a CTE visible in
    their own scope. A CTE defined in a subquery does not cover a table outside it."""
    refs: set[int] = set()
    if tree.find(exp.CTE) is None:
        return refs  # no CTE: every table must be a store table
    try:
        scopes = list(traverse_scope(tree))
    except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError):
        return refs  # every table must then be a store table
    for scope in scopes:
        for table in scope.tables:
            if table.db or table.catalog:
                continue
            if table.name in scope.cte_sources:
                refs.add(id(table))
    return refs


def _store_derived_outputs(tree: exp.Expression, tables: dict[str, list[str]]) -> list[bool] | None:
    """Per output column of `tree`: does its expression read a store table's column (through
    CTEs and subqueries, in every branch of a UNION)? Literal-only columns are False."""
    root = build_scope_safe(tree)
    if root is None:
        return None
    return _scope_outputs(root, tables, 0)


def build_scope_safe(tree: exp.Expression) -> Scope | None:
    from sqlglot.optimizer.scope import build_scope

    try:
        return build_scope(tree)
    except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError):
        return None


def _scope_outputs(scope: Scope, tables: dict[str, list[str]], depth: int) -> list[bool] | None:
    if depth > 50:
        return None
    expression = scope.expression
    if isinstance(expression, exp.SetOperation):
        branches = list(
            getattr(scope, "set_operation_scopes", None) or getattr(scope, "union_scopes", [])
        )
        if not branches:
            return None
        results = [_scope_outputs(b, tables, depth + 1) for b in branches]
        if any(r is None for r in results):
            return None
        width = min(len(r) for r in results)  # type: ignore[arg-type]
        return [all(r[i] for r in results) for i in range(width)]  # type: ignore[index]
    if not isinstance(expression, exp.Select):
        return None
    out: list[bool] = []
    for projection in expression.expressions:
        if isinstance(projection, exp.Star) or (
            isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)
        ):
            # SELECT *: expand to every column of every source, in order.
            for source in scope.selected_sources.values():
                node = source[1] if isinstance(source, tuple) else source
                if isinstance(node, Scope):
                    sub = _scope_outputs(node, tables, depth + 1)
                    if sub is None:
                        return None
                    out.extend(sub)
                elif isinstance(node, exp.Table) and node.name.lower() in tables:
                    out.extend(True for _ in tables[node.name.lower()])
                else:
                    return None
            continue
        out.append(_reads_store(projection, scope, tables, depth))
    return out


def _reads_store(
    node: exp.Expression, scope: Scope, tables: dict[str, list[str]], depth: int
) -> bool:
    """True if `node` references a column that resolves to a store table in `scope`."""
    if depth > 50 or _literal_value(node):
        return False
    if any(isinstance(c.this, exp.Star) for c in node.find_all(exp.Count)) and _reads_rows(
        scope, tables, depth
    ):
        return True  # count(*) over store rows
    for col in node.find_all(exp.Column):
        if isinstance(col.this, exp.Star):
            continue
        candidates = [scope.sources.get(col.table)] if col.table else list(scope.sources.values())
        for source in candidates:
            if source is None:
                continue
            if isinstance(source, exp.Table):
                if source.name.lower() in tables and not isinstance(source.this, exp.Func):
                    return True
            elif isinstance(source, Scope):
                sub = source.expression
                if isinstance(sub, exp.Select | exp.SetOperation):
                    outs = _named_outputs(source, tables, depth + 1)
                    if outs.get(col.name.lower()):
                        return True
    for sub in node.find_all(exp.Subquery, exp.Select):
        if sub is node:
            continue
        child = build_scope_safe(sub.this if isinstance(sub, exp.Subquery) else sub)
        if child is not None:
            vals = _scope_outputs(child, tables, depth + 1)
            if vals and any(vals):
                return True
    return False


_VALUE_PICKERS = _exp_types("Coalesce", "Greatest", "Least", "Nullif", "Max", "Min")


def _literal_value(node: exp.Expression) -> bool:
    """True if a numeric literal can become (part of) the value of `node`: a CASE/IF result,
    a COALESCE/GREATEST argument, a term added or subtracted, or a product with 0.
    Literals in conditions, round() digits and unit scaling (x * 1000) do not count."""
    for lit in node.find_all(exp.Literal):
        if lit.is_string:
            continue
        child: exp.Expression = lit
        parent = lit.parent
        while parent is not None and child is not node:
            constant = child.find(exp.Column) is None
            if not constant and not isinstance(parent, exp.Mul | exp.Div):
                break  # the literal is combined with a store value below here
            if isinstance(parent, exp.Add | exp.Sub | exp.DPipe):
                return True
            if isinstance(parent, exp.If) and child.arg_key in ("true", "false"):
                return True
            if isinstance(parent, exp.Case) and child.arg_key == "default":
                return True
            if isinstance(parent, _VALUE_PICKERS):
                return True
            if isinstance(parent, exp.Mul | exp.Div) and _int_literal(lit) == 0:
                return True
            if isinstance(parent, exp.Predicate | exp.Where | exp.Round) or (
                isinstance(parent, exp.If) and child.arg_key == "this"
            ):
                break  # a condition or a rounding: not a value
            child, parent = parent, parent.parent
    return False


def _reads_rows(scope: Scope, tables: dict[str, list[str]], depth: int) -> bool:
    """True if the scope's FROM reads a store table (directly or through a subquery/CTE)."""
    for source in scope.sources.values():
        if isinstance(source, exp.Table) and source.name.lower() in tables:
            return True
        if isinstance(source, Scope) and depth < 50:
            outs = _scope_outputs(source, tables, depth + 1)
            if outs and any(outs):
                return True
    return False


def _named_outputs(scope: Scope, tables: dict[str, list[str]], depth: int) -> dict[str, bool]:
    """Output column name -> reads the store, for a CTE or derived-table scope."""
    expression = scope.expression
    first = expression
    while isinstance(first, exp.SetOperation):
        first = first.this
    names = [n.lower() for n in getattr(first, "named_selects", [])]
    vals = _scope_outputs(scope, tables, depth)
    if vals is None or len(vals) != len(names):
        return {}
    # A CTE with a column list (r(n) AS ...) renames its outputs.
    parent = expression.parent
    alias_cols = []
    if isinstance(parent, exp.CTE | exp.Subquery):
        table_alias = parent.args.get("alias")
        if isinstance(table_alias, exp.TableAlias):
            alias_cols = [c.name.lower() for c in table_alias.columns]
    if alias_cols and len(alias_cols) == len(names):
        names = alias_cols
    return dict(zip(names, vals, strict=False))


def _outer_source(scope: Scope, alias: str) -> bool:
    parent = scope.parent
    while parent is not None:
        if alias in parent.sources:
            return True
        parent = parent.parent
    return False


def _is_alias(scope: Scope, col: exp.Column, name: str) -> bool:
    """True if `col` refers to an output alias of the scope's SELECT (ORDER BY x, lateral x)."""
    expression = scope.expression
    if not isinstance(expression, exp.Select):
        return False
    own = None
    node: exp.Expression | None = col
    while node is not None and node.parent is not expression:
        node = node.parent
    if node is not None and node.arg_key == "expressions":
        own = node  # the projection the column sits in
    for projection in expression.expressions:
        if projection is own:
            continue
        if projection.alias_or_name.lower() == name:
            return True
    return False
