-- description: Lifetime value per customer: first and last order date (UTC), orders and revenue (cancelled orders excluded)
-- columns: customer_id string, first_order_date date, last_order_date date, orders bigint,
-- columns: lifetime_revenue decimal(18,2)
--
-- Same de-duplication as daily_sales: the latest version of each order_id across bronze files.
WITH latest_orders AS (
  SELECT
    order_id,
    order_ts,
    customer_id,
    quantity,
    unit_price,
    status,
    row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, _ingested_at DESC) AS version_rank
  FROM {{ ref('orders') }}
)
SELECT
  customer_id,
  MIN(CAST(order_ts AT TIME ZONE 'UTC' AS date)) AS first_order_date,
  MAX(CAST(order_ts AT TIME ZONE 'UTC' AS date)) AS last_order_date,
  COUNT(DISTINCT order_id) AS orders,
  CAST(ROUND(SUM(quantity * unit_price), 2) AS decimal(18, 2)) AS lifetime_revenue
FROM latest_orders
WHERE version_rank = 1
  AND (status IS NULL OR status <> 'cancelled')
GROUP BY customer_id
