-- marts.daily_revenue: revenue in the reporting currency per order date, over both sources.
CREATE OR REPLACE VIEW marts.daily_revenue AS
SELECT
  order_date,
  CAST(sum(amount_reporting) AS DECIMAL(18, 2)) AS revenue,
  count(*) AS orders,
  CAST(sum(quantity) AS bigint) AS quantity,
  count(DISTINCT customer_id) AS customers
FROM marts.sales_reporting
GROUP BY order_date
