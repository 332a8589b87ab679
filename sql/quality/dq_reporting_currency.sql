-- severity: error
-- Every converted amount in curated is in pipeline.yaml's reporting_currency ({{ reporting_currency }}): rows
-- converted under another one (reporting_currency changed, older partitions not re-run) would be summed with
-- the others by the marts. One row per dataset and currency found, with its row count.
SELECT dataset, found_currency, count(*) AS row_count
FROM (
  SELECT 'sales' AS dataset, reporting_currency AS found_currency
  FROM curated.sales
  UNION ALL
  SELECT 'transactions', reporting_currency
  FROM curated.transactions
) AS converted
WHERE coalesce(found_currency, '') <> '{{ reporting_currency }}'
GROUP BY dataset, found_currency
