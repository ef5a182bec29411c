-- description: Daily sales by UTC order date, store and product category (cancelled orders excluded)
-- domain: retail
-- owner: retail-data@example.com
-- version: 1.0.0
-- sla: freshness 2 hours
-- access: finance
-- columns: sales_date date, store_id string, category string, orders bigint, revenue decimal(18,2),
-- columns: average_order_value decimal(18,2), unique_customers bigint
-- incremental: sales_date lookback 1 day from orders
-- test: unique(sales_date, store_id, category)
-- test: not_null(sales_date, store_id, category)
-- test: expression(revenue >= 0 AND orders > 0)
-- test: expression(unique_customers <= orders)
--
-- `orders` and `products` are current state: one row per key, its latest version across every file
-- (every version stays in `orders_history`).
-- Being incremental, a run recomputes only the sales dates next to the order days (`dt`, the UTC day of
-- order_ts) that changed since the last run; a change in `products` rebuilds every date.
WITH sales AS (
  SELECT
    CAST(o.order_ts AT TIME ZONE 'UTC' AS date) AS sales_date,
    o.store_id,
    COALESCE(p.category, 'unknown') AS category,
    o.order_id,
    o.customer_id,
    o.quantity * o.unit_price AS amount
  FROM {{ ref('orders') }} o
  LEFT JOIN {{ ref('products') }} p ON p.product_id = o.product_id
  WHERE o.status IS NULL OR o.status <> 'cancelled'
)
SELECT
  sales_date,
  store_id,
  category,
  COUNT(DISTINCT order_id) AS orders,
  CAST(ROUND(SUM(amount), 2) AS decimal(18, 2)) AS revenue,
  CAST(ROUND(SUM(amount) / COUNT(DISTINCT order_id), 2) AS decimal(18, 2)) AS average_order_value,
  COUNT(DISTINCT customer_id) AS unique_customers
FROM sales
GROUP BY sales_date, store_id, category
