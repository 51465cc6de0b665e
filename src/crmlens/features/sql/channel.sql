-- family: channel
-- grain: customer_id
-- reads: order_totals
-- Share of orders in each sales channel ({channel_columns} is filled by the builder).
SELECT
    customer_id,
    {channel_columns}
FROM order_totals
GROUP BY customer_id
