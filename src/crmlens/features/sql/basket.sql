-- family: basket
-- grain: customer_id
-- reads: order_totals, orders
-- Basket shape: lines, distinct products, average order value and lines per order.
WITH order_shape AS (
    SELECT customer_id, count(*) AS orders, sum(amount) / count(*) AS avg_order_value
    FROM order_totals
    GROUP BY customer_id
),
product_range AS (
    SELECT customer_id, count(*) AS order_lines, count(DISTINCT product_id) AS distinct_products
    FROM orders
    WHERE ts < {as_of} AND customer_id IS NOT NULL
    GROUP BY customer_id
)
SELECT
    s.customer_id,
    r.order_lines,
    r.distinct_products,
    s.avg_order_value,
    r.order_lines / s.orders AS lines_per_order
FROM order_shape AS s
JOIN product_range AS r ON r.customer_id = s.customer_id
