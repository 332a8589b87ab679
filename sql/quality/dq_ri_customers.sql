-- severity: warn
-- Referential integrity: store transactions (and CSV sales that name a customer) whose customer_id is not in
-- curated.customers. warn, not error: customers arrive incrementally from the CRM API while transactions are
-- extracted in parallel, so a customer created just before the extract can be missing until the next run.
SELECT 'transactions' AS dataset, CAST(t.transaction_id AS varchar) AS transaction_id, t.customer_id
FROM curated.transactions AS t
WHERE NOT EXISTS (SELECT 1 FROM curated.customers AS c WHERE c.customer_id = t.customer_id)
UNION ALL
SELECT 'sales' AS dataset, s.transaction_id, s.customer_id
FROM curated.sales AS s
WHERE s.customer_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM curated.customers AS c WHERE c.customer_id = s.customer_id)
