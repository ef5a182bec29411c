-- description: Daily sales by UTC order date, store and product category (cancelled orders excluded)
-- columns: sales_date date, store_id string, category string, orders bigint, revenue decimal(18,2),
-- columns: average_order_value decimal(18,2), unique_customers bigint
--
-- Silver holds one row per order_id and bronze file: an order re-sent with a new status appears in as
-- many files. The latest version of each order (then of each product) is picked first.
WITH latest_orders AS (
  SELECT
    order_id,
    order_ts,
    customer_id,
    store_id,
    product_id,
    quantity,
    unit_price,
    status,
    row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, _ingested_at DESC) AS version_rank
  FROM {{ ref('orders') }}
),
latest_products AS (
  SELECT
    product_id,
    category,
    row_number() OVER (PARTITION BY product_id ORDER BY updated_at DESC, _ingested_at DESC) AS version_rank
  FROM {{ ref('products') }}
),
sales AS (
  SELECT
    CAST(o.order_ts AT TIME ZONE 'UTC' AS date) AS sales_date,
    o.store_id,
    COALESCE(p.category, 'unknown') AS category,
    o.order_id,
    o.customer_id,
    o.quantity * o.unit_price AS amount
  FROM latest_orders o
  LEFT JOIN latest_products p ON p.product_id = o.product_id AND p.version_rank = 1
  WHERE o.version_rank = 1
    AND (o.status IS NULL OR o.status <> 'cancelled')
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
