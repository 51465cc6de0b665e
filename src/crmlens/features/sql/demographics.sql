-- family: demographics
-- grain: customer_id
-- reads: customers
-- From the golden record: age and age band at the cutoff, gender, city, time since sign-up.
SELECT
    customer_id,
    floor(date_diff('day', CAST(birth_date AS DATE), CAST({as_of} AS DATE)) / CAST(365.25 AS DOUBLE)) AS age,
    CASE
        WHEN birth_date IS NULL THEN NULL
        WHEN floor(date_diff('day', CAST(birth_date AS DATE), CAST({as_of} AS DATE)) / CAST(365.25 AS DOUBLE)) < 25 THEN '<25'
        WHEN floor(date_diff('day', CAST(birth_date AS DATE), CAST({as_of} AS DATE)) / CAST(365.25 AS DOUBLE)) < 35 THEN '25-34'
        WHEN floor(date_diff('day', CAST(birth_date AS DATE), CAST({as_of} AS DATE)) / CAST(365.25 AS DOUBLE)) < 45 THEN '35-44'
        WHEN floor(date_diff('day', CAST(birth_date AS DATE), CAST({as_of} AS DATE)) / CAST(365.25 AS DOUBLE)) < 55 THEN '45-54'
        ELSE '55+'
    END AS age_band,
    gender,
    city,
    CASE WHEN signup_at < {as_of} THEN date_diff('day', CAST(signup_at AS DATE), CAST({as_of} AS DATE)) END AS days_since_signup
FROM customers
