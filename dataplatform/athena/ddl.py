"""Athena's CREATE EXTERNAL TABLE as a Glue TableInput: what Athena's own DDL would register.

Pure sqlglot: the CDK app declares the platform's audit table from `audit_runs.sql` with it, and the local engine
registers a user's DDL with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

AUDIT_RUNS_DDL = Path(__file__).with_name("audit_runs.sql")
"""The platform's audit table (`audit.runs`), declared by the stack so it exists before the first run ends."""

SERDE_BY_FORMAT = {
    "parquet": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    },
    "json": {
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    },
}


def external_table_input(statement: exp.Create, name: str) -> dict[str, Any]:
    """A Glue TableInput from Athena's CREATE EXTERNAL TABLE, as Athena's own DDL would register it."""
    schema = statement.this
    columns = [
        {"Name": col.name, "Type": col.args["kind"].sql(dialect="hive").lower().replace(" ", "")}
        for col in (schema.expressions if isinstance(schema, exp.Schema) else [])
        if isinstance(col, exp.ColumnDef)
    ]
    partitions: list[dict[str, str]] = []
    parameters: dict[str, str] = {"EXTERNAL": "TRUE"}
    serde: dict[str, str] = {}
    location = ""
    properties = statement.args.get("properties")
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.PartitionedByProperty):
            partitions = [
                {"Name": col.name, "Type": col.args["kind"].sql(dialect="hive").lower().replace(" ", "")}
                for col in prop.this.expressions
                if isinstance(col, exp.ColumnDef)
            ]
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            library = prop.this.name
            fmt = "json" if "json" in library.lower() else "parquet" if "parquet" in library.lower() else None
            serde = dict(SERDE_BY_FORMAT[fmt]) if fmt else {"SerializationLibrary": library}
            serde["SerializationLibrary"] = library
        elif isinstance(prop, exp.FileFormatProperty):
            fmt_name = prop.this.name.lower() if prop.this is not None else ""
            if fmt_name in SERDE_BY_FORMAT and not serde:
                serde = dict(SERDE_BY_FORMAT[fmt_name])
        elif isinstance(prop, exp.LocationProperty):
            location = prop.this.name
        elif type(prop) is exp.Property:  # TBLPROPERTIES entries (property subclasses are handled above)
            parameters[prop.name] = prop.args["value"].name
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": partitions,
        "StorageDescriptor": {
            "Columns": columns,
            "Location": location,
            "InputFormat": serde.get("InputFormat", ""),
            "OutputFormat": serde.get("OutputFormat", ""),
            "SerdeInfo": {"SerializationLibrary": serde.get("SerializationLibrary", "")},
        },
    }


def table_input_from_sql(sql: str) -> tuple[str, dict[str, Any]]:
    """(logical database, TableInput) of one rendered CREATE EXTERNAL TABLE statement."""
    statement = sqlglot.parse_one(sql, read="athena")
    table = statement.find(exp.Table)
    if not isinstance(statement, exp.Create) or table is None or not table.db:
        raise ValueError("expected CREATE EXTERNAL TABLE <database>.<table> (...)")
    return table.db, external_table_input(statement, table.name)
