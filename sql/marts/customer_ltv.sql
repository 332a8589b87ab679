-- marts.customer_ltv: lifetime value per customer (reporting currency), from every sale that names a customer.
-- CSV sales without a customer_id are not attributed to anyone; customers without sales have no row.
CREATE OR REPLACE VIEW marts.customer_ltv AS
SELECT
  customer_id,
  CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS lifetime_value,
  count(*) AS orders,
  min(order_date) AS first_order_date,
  max(order_date) AS last_order_date,
  CAST(sum(quantity) AS bigint) AS quantity,
  CAST(sum(amount_reporting) / count(*) AS DECIMAL(18, 2)) AS avg_order_value
FROM marts.sales_reporting
WHERE customer_id IS NOT NULL
GROUP BY customer_id
