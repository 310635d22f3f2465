import http from 'node:http';
import pg from 'pg';

/**
 * The status benchmark's baseline: a bare node:http server answering GET /api/v1/orders/{id} with the
 * same primary-key SELECT on the same read table through pg, and nothing else.
 */
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: 10,
  options: `-c search_path=${process.env.DATABASE_SCHEMA}`,
});
const server = http.createServer((req, res) => {
  const id = (req.url ?? '').split('/')[4] ?? '';
  pool.query('SELECT doc FROM order_view WHERE order_id = $1', [id]).then(
    (result) => {
      const row = result.rows[0] as { doc: unknown } | undefined;
      res.writeHead(row ? 200 : 404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(row?.doc ?? {}));
    },
    () => {
      res.writeHead(500);
      res.end();
    },
  );
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('baseline listening'));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
