-- description: Lifetime value per customer: first and last order date (UTC), orders and revenue (cancelled orders excluded)
-- domain: retail
-- owner: crm-team@example.com
-- version: 1.0.0
-- sla: freshness 1 day
-- columns: customer_id string, first_order_date date, last_order_date date, orders bigint,
-- columns: lifetime_revenue decimal(18,2)
-- test: unique(customer_id)
-- test: not_null(customer_id)
-- test: expression(orders > 0 AND lifetime_revenue >= 0)
-- test: expression(first_order_date <= last_order_date)
--
-- `orders` is current state: each order once, in its latest version.
SELECT
  customer_id,
  MIN(CAST(order_ts AT TIME ZONE 'UTC' AS date)) AS first_order_date,
  MAX(CAST(order_ts AT TIME ZONE 'UTC' AS date)) AS last_order_date,
  COUNT(DISTINCT order_id) AS orders,
  CAST(ROUND(SUM(quantity * unit_price), 2) AS decimal(18, 2)) AS lifetime_revenue
FROM {{ ref('orders') }}
WHERE status IS NULL OR status <> 'cancelled'
GROUP BY customer_id
