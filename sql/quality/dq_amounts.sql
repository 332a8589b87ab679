-- severity: error
-- No negative amounts (original or converted to the reporting currency) and no zero quantities.
-- One row per offending record, naming its first problem.
SELECT dataset, record_key, problem
FROM (
  SELECT 'sales' AS dataset, transaction_id AS record_key,
    CASE
      WHEN quantity = 0 THEN 'zero quantity'
      WHEN price < 0 THEN 'negative price'
      WHEN line_price_reporting < 0 THEN 'negative line_price_reporting'
    END AS problem
  FROM curated.sales
  UNION ALL
  SELECT 'transactions' AS dataset, CAST(transaction_id AS varchar) AS record_key,
    CASE
      WHEN quantity = 0 THEN 'zero quantity'
      WHEN total_amount < 0 THEN 'negative total_amount'
      WHEN total_amount_reporting < 0 THEN 'negative total_amount_reporting'
    END AS problem
  FROM curated.transactions
  UNION ALL
  SELECT 'products' AS dataset, CAST(product_id AS varchar) AS record_key,
    CASE WHEN price < 0 THEN 'negative price' END AS problem
  FROM curated.products
) AS checked
WHERE problem IS NOT NULL
