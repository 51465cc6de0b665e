-- family: web
-- grain: customer_id
-- zero_when_absent: views_30d, cart_adds_30d, events_total, sessions_30d, sessions_prev_30d, abandoned_carts_90d
-- reads: events
-- Web engagement: sessions, views, cart adds, abandoned carts and the last visit.
WITH sessions AS (
    SELECT
        customer_id,
        session_id,
        min(ts) AS started,
        max(CASE WHEN event_type = 'cart' THEN 1 ELSE 0 END) AS carted,
        max(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END) AS bought
    FROM events
    WHERE ts < {as_of} AND customer_id IS NOT NULL
    GROUP BY customer_id, session_id
),
counts AS (
    SELECT
        customer_id,
        count(CASE WHEN event_type = 'view' AND ts >= {as_of} - INTERVAL 30 DAY THEN 1 END) AS views_30d,
        count(CASE WHEN event_type = 'cart' AND ts >= {as_of} - INTERVAL 30 DAY THEN 1 END) AS cart_adds_30d,
        count(*) AS events_total,
        date_diff('day', CAST(max(ts) AS DATE), CAST({as_of} AS DATE)) AS days_since_last_visit
    FROM events
    WHERE ts < {as_of} AND customer_id IS NOT NULL
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    c.views_30d,
    c.cart_adds_30d,
    c.events_total,
    c.days_since_last_visit,
    s.sessions_30d,
    s.sessions_prev_30d,
    s.abandoned_carts_90d
FROM counts AS c
LEFT JOIN (
    SELECT
        customer_id,
        count(CASE WHEN started >= {as_of} - INTERVAL 30 DAY THEN 1 END) AS sessions_30d,
        count(CASE WHEN started < {as_of} - INTERVAL 30 DAY AND started >= {as_of} - INTERVAL 60 DAY THEN 1 END)
            AS sessions_prev_30d,
        count(CASE WHEN started >= {as_of} - INTERVAL 90 DAY AND carted = 1 AND bought = 0 THEN 1 END)
            AS abandoned_carts_90d
    FROM sessions
    GROUP BY customer_id
) AS s ON s.customer_id = c.customer_id
