-- family: campaign
-- grain: customer_id
-- zero_when_absent: campaign_contacts, campaign_responses
-- reads: campaign_contacts
-- Campaign history: how often the customer was contacted and responded.
SELECT
    customer_id,
    count(CASE WHEN treatment = 1 THEN 1 END) AS campaign_contacts,
    count(CASE WHEN treatment = 1 AND responded = 1 THEN 1 END) AS campaign_responses,
    count(CASE WHEN treatment = 1 AND responded = 1 THEN 1 END)
        / nullif(count(CASE WHEN treatment = 1 THEN 1 END), 0) AS campaign_response_rate
FROM campaign_contacts
WHERE ts < {as_of} AND customer_id IS NOT NULL
GROUP BY customer_id
