-- family: order_totals
-- grain: customer_id, order_id
-- reads: orders
-- One row per order placed before the cutoff, shared by the order families so that orders are grouped once.
-- An order's channel is the first by name of its lines' channels (lines of one order normally share it).
SELECT
    customer_id,
    order_id,
    min(ts) AS ts,
    max(ts) AS last_ts,
    sum(amount) AS amount,
    count(*) AS lines,
    min(channel) AS channel
FROM orders
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id, order_id
