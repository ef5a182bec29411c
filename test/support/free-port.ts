import { createServer } from 'node:net';

/**
 * A loopback port free right now. Tests that start the local cloud more than once in one process need the
 * same S3 port each time: the handler modules keep the environment (which holds it) they were loaded with.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
