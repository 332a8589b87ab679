-- severity: error
-- Unique keys in curated (pipeline.yaml contract keys). products is a daily full snapshot, so its key is unique
-- within a snapshot_date. One row per duplicated key, with the number of copies.
SELECT 'sales' AS dataset, transaction_id AS record_key, count(*) AS copies
FROM curated.sales
GROUP BY transaction_id
HAVING count(*) > 1
UNION ALL
SELECT 'transactions', CAST(transaction_id AS varchar), count(*)
FROM curated.transactions
GROUP BY transaction_id
HAVING count(*) > 1
UNION ALL
SELECT 'customers', CAST(customer_id AS varchar), count(*)
FROM curated.customers
GROUP BY customer_id
HAVING count(*) > 1
UNION ALL
SELECT 'products', CAST(product_id AS varchar) || '@' || CAST(snapshot_date AS varchar), count(*)
FROM curated.products
GROUP BY product_id, snapshot_date
HAVING count(*) > 1
UNION ALL
SELECT 'exchange_rates', currency_code || '@' || CAST(rate_date AS varchar), count(*)
FROM curated.exchange_rates
GROUP BY currency_code, rate_date
HAVING count(*) > 1
