-- family: trend
-- grain: customer_id
-- zero_when_absent: spend_90d, spend_prev_90d, orders_90d, orders_prev_90d
-- reads: order_totals
-- Spend and orders in the last 90 days against the 90 days before (an order counts on the day it was placed).
SELECT
    customer_id,
    sum(CASE WHEN ts >= {as_of} - INTERVAL 90 DAY THEN amount ELSE 0 END) AS spend_90d,
    sum(CASE WHEN ts < {as_of} - INTERVAL 90 DAY THEN amount ELSE 0 END) AS spend_prev_90d,
    count(CASE WHEN ts >= {as_of} - INTERVAL 90 DAY THEN 1 END) AS orders_90d,
    count(CASE WHEN ts < {as_of} - INTERVAL 90 DAY THEN 1 END) AS orders_prev_90d,
    (sum(CASE WHEN ts >= {as_of} - INTERVAL 90 DAY THEN amount ELSE 0 END) + 1)
        / (sum(CASE WHEN ts < {as_of} - INTERVAL 90 DAY THEN amount ELSE 0 END) + 1) AS spend_trend_ratio
FROM order_totals
WHERE ts >= {as_of} - INTERVAL 180 DAY
GROUP BY customer_id
