-- family: rhythm
-- grain: customer_id
-- reads: order_totals
-- Purchase rhythm: the usual gap between orders and how overdue the customer is against it.
-- Gaps depend only on the sorted order days, so ties need no tie-breaker.
WITH gaps AS (
    SELECT
        customer_id,
        day,
        date_diff('day', lag(day) OVER (PARTITION BY customer_id ORDER BY day), day) AS gap_days
    FROM (SELECT customer_id, CAST(ts AS DATE) AS day FROM order_totals) AS order_days
)
SELECT
    customer_id,
    avg(gap_days) AS ipd_mean_days,
    stddev_samp(gap_days) AS ipd_std_days,
    date_diff('day', max(day), CAST({as_of} AS DATE)) / nullif(avg(gap_days), 0) AS overdue_ratio
FROM gaps
GROUP BY customer_id
