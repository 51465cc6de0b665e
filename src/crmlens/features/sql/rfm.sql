-- family: rfm
-- grain: customer_id
-- reads: order_totals
-- Recency, frequency, monetary value and tenure from orders before the cutoff.
SELECT
    customer_id,
    date_diff('day', CAST(max(last_ts) AS DATE), CAST({as_of} AS DATE)) AS recency_days,
    count(*) AS frequency,
    sum(amount) AS monetary,
    date_diff('day', CAST(min(ts) AS DATE), CAST({as_of} AS DATE)) AS tenure_days
FROM order_totals
GROUP BY customer_id
