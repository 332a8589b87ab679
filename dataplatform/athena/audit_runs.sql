-- audit.runs: one JSON line per dataset per run, written by the write_audit step at
-- s3://<curated bucket>/audit/run_date=YYYY-MM-DD/run_id=<run_id>/<dataset>.json (docs/contracts.md).
-- Declared by the stack (infra/audit_table.py), so it exists before the first run ends, failed runs included.
-- Partition projection on run_date, so no partition ever has to be registered. Athena reads every object under a
-- partition's location, including the run_id=... sub-prefixes. Timestamps stay strings (ISO 8601 as written).
-- No storage.location.template: projection defaults to the Hive layout audit/run_date=<date>/, which is ours.
CREATE EXTERNAL TABLE IF NOT EXISTS audit.runs (
  run_id string,
  dataset string,
  status string,
  state_committed boolean,
  window_start date,
  window_end date,
  started_at string,
  finished_at string,
  duration_s double,
  raw_rows bigint,
  raw_bytes bigint,
  curated_rows bigint,
  quarantined_rows bigint,
  duplicate_rows bigint,
  rejected_files bigint,
  watermark_previous string,
  watermark_committed string,
  error_step string,
  error string
)
PARTITIONED BY (run_date date)
ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
LOCATION 's3://{{ curated_bucket }}/audit/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.run_date.type' = 'date',
  'projection.run_date.format' = 'yyyy-MM-dd',
  'projection.run_date.range' = '2020-01-01,NOW',
  'projection.run_date.interval' = '1',
  'projection.run_date.interval.unit' = 'DAYS'
)
