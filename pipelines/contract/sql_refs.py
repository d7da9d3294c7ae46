"""Which warehouse tables a SQL model reads, found in its text: the asset graph is derived from it.

A reference is `<schema>.<table>` for the schemas of the warehouse, outside comments. Placeholders
(`{{ name }}`) are not references: a model that reads an optional table through one declares it beside the model.
"""

from __future__ import annotations

import re

SCHEMAS = ("raw", "staging", "ref", "intermediate", "cohort", "dq", "marts")
_REFERENCE = re.compile(rf"\b({'|'.join(SCHEMAS)})\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")


def referenced_tables(sql: str) -> set[str]:
    """`schema.table` names the SQL text reads (comments ignored)."""
    return {f"{schema}.{table}" for schema, table in _REFERENCE.findall(_COMMENT.sub("", sql))}
