-- description: Sales per product category over all days, with its share of total revenue (reads the gold model daily_sales)
-- domain: retail
-- owner: retail-data@example.com
-- version: 1.0.0
-- sla: freshness 2 hours
-- columns: category string, first_sales_date date, last_sales_date date, orders bigint,
-- columns: revenue decimal(18,2), revenue_share double
-- test: unique(category)
-- test: not_null(category)
-- test: relationships(category, daily_sales.category)
-- test: expression(revenue_share BETWEEN 0 AND 1)
SELECT
  category,
  MIN(sales_date) AS first_sales_date,
  MAX(sales_date) AS last_sales_date,
  CAST(SUM(orders) AS bigint) AS orders,
  CAST(SUM(revenue) AS decimal(18, 2)) AS revenue,
  CASE
    WHEN SUM(SUM(revenue)) OVER () = 0 THEN CAST(NULL AS double precision)
    ELSE CAST(SUM(revenue) AS double precision) / CAST(SUM(SUM(revenue)) OVER () AS double precision)
  END AS revenue_share
FROM {{ ref('daily_sales') }}
GROUP BY category
