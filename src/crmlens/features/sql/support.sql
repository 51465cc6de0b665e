-- family: support
-- grain: customer_id
-- zero_when_absent: tickets_total, tickets_90d, tickets_open, escalations
-- reads: tickets
-- Support load: tickets, tickets still open at the cutoff, resolution time, escalations.
SELECT
    customer_id,
    count(*) AS tickets_total,
    count(CASE WHEN ts >= {as_of} - INTERVAL 90 DAY THEN 1 END) AS tickets_90d,
    count(CASE WHEN resolved_at IS NULL OR resolved_at >= {as_of} THEN 1 END) AS tickets_open,
    avg(CASE WHEN resolved_at < {as_of} THEN (epoch(resolved_at) - epoch(ts)) / CAST(3600 AS DOUBLE) END) AS resolution_hours_mean,
    count(CASE WHEN priority IN ('urgent', 'high') THEN 1 END) AS escalations
FROM tickets
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id
