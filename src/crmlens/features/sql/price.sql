-- family: price
-- grain: customer_id
-- reads: orders, products
-- Price and discount sensitivity: share of discounted lines, average discount, price paid vs list.
SELECT
    o.customer_id,
    avg(CASE WHEN coalesce(o.discount, 0) > 0 THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END) AS discount_line_share,
    sum(coalesce(o.discount, 0)) / nullif(sum(o.amount + coalesce(o.discount, 0)), 0) AS avg_discount_rate,
    avg(o.unit_price / nullif(p.price, 0)) AS price_paid_vs_list
FROM orders AS o
LEFT JOIN products AS p ON p.product_id = o.product_id
WHERE o.ts < {as_of} AND o.customer_id IS NOT NULL
GROUP BY o.customer_id
