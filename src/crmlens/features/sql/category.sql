-- family: category
-- grain: customer_id
-- reads: orders, products
-- Share of spend in each of the top categories ({category_columns} is filled by the builder).
SELECT
    o.customer_id,
    {category_columns}
FROM orders AS o
LEFT JOIN products AS p ON p.product_id = o.product_id
WHERE o.ts < {as_of} AND o.customer_id IS NOT NULL
GROUP BY o.customer_id
