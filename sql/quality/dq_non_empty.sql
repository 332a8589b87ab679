-- severity: error
-- After a run every curated table holds rows: one row per empty table.
SELECT dataset
FROM (
  SELECT 'sales' AS dataset, (SELECT count(*) FROM curated.sales) AS row_count
  UNION ALL
  SELECT 'transactions', (SELECT count(*) FROM curated.transactions)
  UNION ALL
  SELECT 'customers', (SELECT count(*) FROM curated.customers)
  UNION ALL
  SELECT 'products', (SELECT count(*) FROM curated.products)
  UNION ALL
  SELECT 'exchange_rates', (SELECT count(*) FROM curated.exchange_rates)
) AS counted
WHERE row_count = 0
