-- family: basket
-- grain: customer_id
-- reads: orders
-- Basket shape: lines, distinct products, average order value and lines per order.
SELECT
    customer_id,
    count(*) AS order_lines,
    count(DISTINCT product_id) AS distinct_products,
    sum(amount) / count(DISTINCT order_id) AS avg_order_value,
    count(*) / count(DISTINCT order_id) AS lines_per_order
FROM orders
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id
