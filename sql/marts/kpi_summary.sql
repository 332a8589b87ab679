-- marts.kpi_summary: one row of headline figures over all sales, in the reporting currency.
CREATE OR REPLACE VIEW marts.kpi_summary AS
SELECT
  '{{ reporting_currency }}' AS currency,
  CAST(coalesce(sum(amount_reporting), 0) AS DECIMAL(18, 2)) AS total_revenue,
  count(*) AS orders,
  count(DISTINCT customer_id) AS customers,
  count(DISTINCT product_id) AS products,
  CAST(coalesce(sum(quantity), 0) AS bigint) AS total_quantity,
  CAST(sum(amount_reporting) / nullif(count(*), 0) AS DECIMAL(18, 2)) AS avg_order_value,
  min(order_date) AS first_order_date,
  max(order_date) AS last_order_date,
  (SELECT count(*) FROM marts.customer_segments WHERE segment = 'VIP') AS vip_customers
FROM marts.sales_reporting
