-- severity: warn
-- Referential integrity: store transactions and CSV sales whose product_id is in no products snapshot.
-- warn, not error: the products snapshot and the transactions are extracted in parallel, so a product added
-- between the two extracts is only in the next snapshot.
SELECT 'transactions' AS dataset, CAST(t.transaction_id AS varchar) AS transaction_id, t.product_id
FROM curated.transactions AS t
WHERE NOT EXISTS (SELECT 1 FROM curated.products AS p WHERE p.product_id = t.product_id)
UNION ALL
SELECT 'sales' AS dataset, s.transaction_id, s.product_id
FROM curated.sales AS s
WHERE NOT EXISTS (SELECT 1 FROM curated.products AS p WHERE p.product_id = s.product_id)
