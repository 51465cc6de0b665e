-- family: feedback
-- grain: customer_id
-- zero_when_absent: reviews_total, low_ratings
-- reads: feedback
-- Reviews and ratings given before the cutoff (sentiment columns come from the text stage).
SELECT
    customer_id,
    count(*) AS reviews_total,
    avg(rating) AS rating_mean,
    min(rating) AS rating_min,
    count(CASE WHEN rating <= 2 THEN 1 END) AS low_ratings
FROM feedback
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id
