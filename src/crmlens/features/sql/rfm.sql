-- family: rfm
-- grain: customer_id
-- reads: orders
-- Recency, frequency, monetary value and tenure from order lines before the cutoff.
SELECT
    customer_id,
    date_diff('day', CAST(max(ts) AS DATE), CAST({as_of} AS DATE)) AS recency_days,
    count(DISTINCT order_id) AS frequency,
    sum(amount) AS monetary,
    date_diff('day', CAST(min(ts) AS DATE), CAST({as_of} AS DATE)) AS tenure_days
FROM orders
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id
