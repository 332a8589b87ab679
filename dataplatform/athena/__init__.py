"""Athena layer: the sql/ files (rendering, ordering) and the local Athena engine (DuckDB, `engine` module).

Importing this package stays light (no DuckDB, no boto3), because the CDK app renders the SQL through it.
"""

from dataplatform.athena.sqlfiles import (
    LOGICAL_DATABASES,
    SAMPLE_SQL_DIR,
    SqlFile,
    SqlFileError,
    database_names,
    load_sql_files,
    parameters_from_config,
    render_sql,
    unknown_reads,
)

__all__ = [
    "LOGICAL_DATABASES",
    "SAMPLE_SQL_DIR",
    "SqlFile",
    "SqlFileError",
    "database_names",
    "load_sql_files",
    "parameters_from_config",
    "render_sql",
    "unknown_reads",
]
