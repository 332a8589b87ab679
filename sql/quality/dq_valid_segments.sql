-- severity: error
-- Every customer in marts.customer_segments has one of the four segments (a NULL segment means a negative
-- lifetime value or a threshold bug).
SELECT customer_id, lifetime_value, segment
FROM marts.customer_segments
WHERE segment IS NULL OR segment NOT IN ('VIP', 'High', 'Medium', 'Low')
