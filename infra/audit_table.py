"""The platform's audit table `<project>_audit.runs`, declared with the stack from its DDL.

It exists from the first deploy, so a first run that fails before the analytics phase still leaves an audit
record Athena can query. The table is defined once, in `dataplatform/athena/audit_runs.sql`.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_glue as glue
from constructs import Construct

from dataplatform.athena.ddl import AUDIT_RUNS_DDL, table_input_from_sql
from dataplatform.athena.sqlfiles import split_header, substitute_parameters
from dataplatform.config import PipelineConfig


class AuditTable(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        database: glue.Database,
        curated_bucket_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        statement = split_header(AUDIT_RUNS_DDL.read_text(encoding="utf-8"))[1]
        sql = substitute_parameters(statement, {"curated_bucket": curated_bucket_name}, source=str(AUDIT_RUNS_DDL))
        _, table_input = table_input_from_sql(sql)
        self.table_name = table_input["Name"]
        self.table = glue.CfnTable(
            self,
            "Table",
            catalog_id=Stack.of(self).account,
            database_name=config.glue_database("audit"),
            table_input=glue.CfnTable.TableInputProperty(name=self.table_name),
        )
        # The TableInput exactly as Athena's DDL registers it (Glue's own key names, parameters kept verbatim).
        self.table.add_property_override("TableInput", table_input)
        self.table.node.add_dependency(database)
