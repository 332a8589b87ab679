-- marts.product_revenue: revenue, quantity and average order value per product (reporting currency).
-- Product attributes come from the latest products snapshot that contains the product, so products dropped from
-- the catalogue keep their name; sales of unknown products still count (name and category are then null).
CREATE OR REPLACE VIEW marts.product_revenue AS
WITH product_attributes AS (
  SELECT
    product_id,
    product_name,
    category,
    row_number() OVER (PARTITION BY product_id ORDER BY snapshot_date DESC) AS version
  FROM curated.products
),
revenue AS (
  SELECT
    product_id,
    sum(amount_reporting) AS total_revenue,
    sum(quantity) AS total_quantity,
    count(*) AS orders
  FROM marts.sales_reporting
  GROUP BY product_id
)
SELECT
  r.product_id,
  p.product_name,
  p.category,
  CAST(r.total_revenue AS DECIMAL(18, 2)) AS total_revenue,
  CAST(r.total_quantity AS bigint) AS total_quantity,
  r.orders,
  CAST(r.total_revenue / r.orders AS DECIMAL(18, 2)) AS avg_order_value
FROM revenue AS r
LEFT JOIN product_attributes AS p
  ON p.product_id = r.product_id AND p.version = 1
