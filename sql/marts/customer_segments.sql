-- marts.customer_segments: VIP, High, Medium or Low by lifetime value; thresholds from pipeline.yaml `segments`
-- (reporting currency, lower bound inclusive). A negative lifetime value (refunds exceeding purchases) gets no
-- segment on purpose: dq_valid_segments reports it instead of hiding it in Low.
CREATE OR REPLACE VIEW marts.customer_segments AS
SELECT
  customer_id,
  lifetime_value,
  CASE
    WHEN lifetime_value >= {{ segment_vip }} THEN 'VIP'
    WHEN lifetime_value >= {{ segment_high }} THEN 'High'
    WHEN lifetime_value >= {{ segment_medium }} THEN 'Medium'
    WHEN lifetime_value >= 0 THEN 'Low'
  END AS segment,
  orders,
  last_order_date
FROM marts.customer_ltv
