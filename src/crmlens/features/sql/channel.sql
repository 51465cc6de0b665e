-- family: channel
-- grain: customer_id
-- reads: orders
-- Share of orders in each sales channel ({channel_columns} is filled by the builder).
SELECT
    customer_id,
    {channel_columns}
FROM orders
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id
