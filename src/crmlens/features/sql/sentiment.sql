-- family: sentiment
-- grain: customer_id
-- zero_when_absent: sentiment_texts, sentiment_negative_90d
-- reads: text_sentiment
-- What the customer wrote before the cutoff (reviews and tickets, scored by the text models at build):
-- mean and latest sentiment score in [-1, 1], negative share, negatives in the last 90 days, per source.
WITH texts AS (
    SELECT
        customer_id,
        source_table,
        sentiment_label,
        sentiment_score,
        ts,
        row_number() OVER (
            PARTITION BY customer_id ORDER BY ts DESC, source_table DESC, source DESC, text_id DESC
        ) AS recency
    FROM text_sentiment
    WHERE ts < {as_of} AND customer_id IS NOT NULL
)
SELECT
    customer_id,
    count(*) AS sentiment_texts,
    avg(sentiment_score) AS sentiment_mean,
    max(CASE WHEN recency = 1 THEN sentiment_score END) AS sentiment_last,
    count(CASE WHEN sentiment_label = 'negative' THEN 1 END) / count(*) AS sentiment_negative_share,
    count(CASE WHEN sentiment_label = 'negative' AND ts >= {as_of} - INTERVAL 90 DAY THEN 1 END) AS sentiment_negative_90d,
    avg(CASE WHEN source_table = 'feedback' THEN sentiment_score END) AS review_sentiment_mean,
    avg(CASE WHEN source_table = 'tickets' THEN sentiment_score END) AS ticket_sentiment_mean
FROM texts
GROUP BY customer_id
