-- marts.sales_reporting: every sale in the reporting currency ({{ reporting_currency }}), one row per
-- (source, transaction_id). The name and the columns do not change with pipeline.yaml's reporting_currency; the
-- reporting_currency column says which currency amount_reporting is in.
--
-- No double counting, by rule:
-- 1. The two sources are disjoint systems: point-of-sale CSV exports (curated.sales, source 'sales') and the store
--    database (curated.transactions, source 'transactions'). They are stacked with UNION ALL, never joined.
-- 2. Their ids cannot collide once cast to varchar: CSV ids match ^S[0-9]+$ (contract rule), Postgres ids are
--    integers. (source, transaction_id) is the key of this view.
-- 3. Within a source a key counts once: if curated holds a key twice (an update moved a row into another date
--    partition, which a partition-level merge does not clean up), the latest version wins: updated_at, then
--    transaction_date. The dq_unique_* assertions report such keys.
-- amount is the line amount in the original currency; amount_reporting is that line converted by standardization
-- (docs/contracts.md "Currency": full-precision rates, rounded once per line), never re-derived here.
-- CSV prices are unit prices (amount = price * quantity); Postgres total_amount is already the line total.
CREATE OR REPLACE VIEW marts.sales_reporting AS
WITH csv_sales AS (
  SELECT
    transaction_id,
    customer_id,
    product_id,
    quantity,
    price,
    line_price_reporting,
    currency,
    reporting_currency,
    transaction_date,
    row_number() OVER (PARTITION BY transaction_id ORDER BY transaction_date DESC) AS version
  FROM curated.sales
),
store_transactions AS (
  SELECT
    transaction_id,
    customer_id,
    product_id,
    quantity,
    total_amount,
    total_amount_reporting,
    currency,
    reporting_currency,
    transaction_date,
    row_number() OVER (PARTITION BY transaction_id ORDER BY updated_at DESC, transaction_date DESC) AS version
  FROM curated.transactions
)
SELECT
  transaction_id,
  'sales' AS source,
  customer_id,
  product_id,
  quantity,
  CAST(price * quantity AS DECIMAL(18, 2)) AS amount,
  currency,
  CAST(line_price_reporting AS DECIMAL(18, 2)) AS amount_reporting,
  reporting_currency,
  transaction_date AS order_date
FROM csv_sales
WHERE version = 1
UNION ALL
SELECT
  CAST(transaction_id AS varchar) AS transaction_id,
  'transactions' AS source,
  customer_id,
  product_id,
  quantity,
  CAST(total_amount AS DECIMAL(18, 2)) AS amount,
  currency,
  CAST(total_amount_reporting AS DECIMAL(18, 2)) AS amount_reporting,
  reporting_currency,
  transaction_date AS order_date
FROM store_transactions
WHERE version = 1
