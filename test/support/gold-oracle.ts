/**
 * An independent oracle for the `daily_sales` gold model: computed by DuckDB straight from the sample CSV
 * files, with the contracts' cleaning rules written out by hand (not with the transform's code), then
 * the model's business rules (latest version of an order and of a product, cancelled orders excluded,
 * UTC day). Rows as JSON values, ordered like `LocalAthena.readTable` (every column).
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export async function dailySalesOracle(samplesDir: string): Promise<Record<string, unknown>[]> {
  const orders = [
    join(samplesDir, 'data/orders/orders-2026-11-01.csv'),
    join(samplesDir, 'data/orders/orders-2026-11-03.csv.gz'),
  ];
  const products = join(samplesDir, 'data/products/products.csv');
  const list = (files: string[]) => `[${files.map((f) => `'${f}'`).join(', ')}]`;
  const sql = `
    WITH raw_orders AS (
      SELECT *, filename AS file
      FROM read_csv(${list(orders)}, header = true, delim = ',', quote = '"', all_varchar = true,
                    ignore_errors = true, filename = true)
    ),
    cleaned AS (
      SELECT
        trim(order_id) AS order_id,
        timezone('Europe/Paris', strptime(order_ts, '%Y-%m-%d %H:%M:%S')) AS order_ts,
        TRY_CAST(updated_at AS TIMESTAMPTZ) AS updated_at,
        NULLIF(customer_id, '') AS customer_id,
        NULLIF(upper(trim(store_id)), '') AS store_id,
        NULLIF(product_id, '') AS product_id,
        CASE WHEN regexp_matches(quantity, '^-?[0-9]+$') THEN CAST(quantity AS INTEGER) END AS quantity,
        CASE WHEN regexp_matches(unit_price, '^-?[0-9]+(\\.[0-9]+)?$') THEN CAST(unit_price AS DECIMAL(10, 2)) END AS unit_price,
        upper(trim(currency)) AS currency,
        NULLIF(lower(trim(status)), '') AS status,
        file
      FROM raw_orders
    ),
    valid AS (
      SELECT * FROM cleaned
      WHERE regexp_matches(order_id, '^O-[0-9]+$')
        AND order_ts IS NOT NULL AND updated_at IS NOT NULL AND customer_id IS NOT NULL
        AND store_id IS NOT NULL AND product_id IS NOT NULL
        AND quantity BETWEEN 1 AND 1000 AND unit_price >= 0
        AND currency IN ('EUR', 'USD', 'GBP')
        AND (status IS NULL OR status IN ('placed', 'shipped', 'delivered', 'cancelled'))
    ),
    latest_orders AS (
      SELECT * FROM valid
      QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC, file DESC) = 1
    ),
    latest_products AS (
      SELECT trim(product_id) AS product_id, lower(trim(category)) AS category
      FROM read_csv('${products}', header = true, delim = ';', all_varchar = true)
      QUALIFY row_number() OVER (PARTITION BY trim(product_id) ORDER BY CAST(updated_at AS TIMESTAMPTZ) DESC) = 1
    ),
    sales AS (
      SELECT
        CAST(timezone('UTC', o.order_ts) AS DATE) AS sales_date,
        o.store_id,
        COALESCE(p.category, 'unknown') AS category,
        o.order_id,
        o.customer_id,
        o.quantity * o.unit_price AS amount
      FROM latest_orders o LEFT JOIN latest_products p USING (product_id)
      WHERE o.status IS NULL OR o.status <> 'cancelled'
    )
    SELECT
      sales_date, store_id, category,
      COUNT(DISTINCT order_id) AS orders,
      CAST(SUM(amount) AS DECIMAL(18, 2)) AS revenue,
      CAST(SUM(amount) / COUNT(DISTINCT order_id) AS DECIMAL(18, 2)) AS average_order_value,
      COUNT(DISTINCT customer_id) AS unique_customers
    FROM sales
    GROUP BY ALL
    ORDER BY ALL`;
  const instance = await DuckDBInstance.create(':memory:', {
    threads: '1',
    autoinstall_known_extensions: 'false',
  });
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    return (await c.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}
