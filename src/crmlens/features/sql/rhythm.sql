-- family: rhythm
-- grain: customer_id
-- reads: orders
-- Purchase rhythm: the usual gap between orders and how overdue the customer is against it.
WITH order_days AS (
    SELECT customer_id, order_id, min(ts) AS ts
    FROM orders
    WHERE ts < {as_of} AND customer_id IS NOT NULL
    GROUP BY customer_id, order_id
),
gaps AS (
    SELECT
        customer_id,
        ts,
        date_diff('day', CAST(lag(ts) OVER (PARTITION BY customer_id ORDER BY ts, order_id) AS DATE), CAST(ts AS DATE)) AS gap_days
    FROM order_days
)
SELECT
    customer_id,
    avg(gap_days) AS ipd_mean_days,
    stddev_samp(gap_days) AS ipd_std_days,
    date_diff('day', CAST(max(ts) AS DATE), CAST({as_of} AS DATE)) / nullif(avg(gap_days), 0) AS overdue_ratio
FROM gaps
GROUP BY customer_id
