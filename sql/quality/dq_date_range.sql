-- severity: error
-- Business dates within the configured range: not before pipeline.yaml quality.min_date ({{ quality_min_date }})
-- and not later than today + quality.max_future_days ({{ quality_max_future_days }}).
SELECT dataset, record_key, date_column, date_value
FROM (
  SELECT 'sales' AS dataset, transaction_id AS record_key, 'transaction_date' AS date_column,
    transaction_date AS date_value
  FROM curated.sales
  UNION ALL
  SELECT 'transactions', CAST(transaction_id AS varchar), 'transaction_date', transaction_date
  FROM curated.transactions
  UNION ALL
  SELECT 'exchange_rates', currency_code, 'rate_date', rate_date
  FROM curated.exchange_rates
  UNION ALL
  SELECT 'customers', CAST(customer_id AS varchar), 'date_joined', date_joined
  FROM curated.customers
  UNION ALL
  SELECT 'products', CAST(product_id AS varchar), 'snapshot_date', snapshot_date
  FROM curated.products
) AS dated
WHERE date_value < DATE '{{ quality_min_date }}'
   OR date_value > date_add('day', {{ quality_max_future_days }}, current_date)
