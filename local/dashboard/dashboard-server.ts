/**
 * The local dashboard over HTTP, on 127.0.0.1 only:
 *
 *   GET /                 the page (self-contained: no request leaves the machine)
 *   GET /api/dashboard    the numbers, as JSON (a `DashboardSnapshot`)
 *   GET /api/events       Server-Sent Events: a snapshot at once, then one whenever a number changes
 *
 * Requests naming another host than the loopback one are refused (a web page elsewhere cannot read the
 * dashboard through DNS rebinding).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PortInUseError } from '../../core/errors';
import type { DashboardSnapshot } from './dashboard-model';
import { dashboardPage } from './dashboard-page';

const LOOPBACK = '127.0.0.1';
/** How often a change is looked for while a page listens. */
const PUSH_EVERY_MS = 250;
/** A comment line this often keeps idle event streams open through anything that times them out. */
const KEEP_ALIVE_MS = 15_000;

export interface DashboardServerOptions {
  /** The numbers now. */
  readonly snapshot: () => DashboardSnapshot;
  /** How often a listening page is sent changed numbers; default 250 ms. */
  readonly pushEveryMs?: number;
}

export class DashboardServer {
  private server: Server | undefined;
  private readonly streams = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private keepAlive: NodeJS.Timeout | undefined;
  private lastSent = '';
  private port = 0;

  constructor(private readonly options: DashboardServerOptions) {}

  /** Listens on 127.0.0.1 (`port` 0: any free port); resolves with the page's URL. */
  async start(port = 0): Promise<string> {
    if (this.server) throw new Error('the dashboard server is already started');
    const server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new PortInUseError(port, LOOPBACK, 'dashboard') : e),
      );
      server.listen(port, LOOPBACK, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.url;
  }

  get url(): string {
    return `http://${LOOPBACK}:${this.port}/`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.stopPushing();
    for (const s of this.streams) s.end();
    this.streams.clear();
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (!this.fromLoopback(req)) send(res, 403, 'text/plain', 'the dashboard answers 127.0.0.1 only\n');
      else if (req.method !== 'GET' && req.method !== 'HEAD') send(res, 405, 'text/plain', 'GET only\n');
      else if (path === '/') send(res, 200, 'text/html; charset=utf-8', dashboardPage());
      else if (path === '/api/dashboard')
        send(res, 200, 'application/json', JSON.stringify(this.options.snapshot()));
      else if (path === '/api/events') this.openStream(req, res);
      else send(res, 404, 'text/plain', 'not found\n');
    } catch (e) {
      send(res, 500, 'text/plain', `dashboard error: ${(e as Error).message}\n`);
    }
  }

  /** The Host header names this server on the loopback address (or localhost). */
  private fromLoopback(req: IncomingMessage): boolean {
    const host = (req.headers.host ?? '').toLowerCase();
    return [`${LOOPBACK}:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`].includes(host);
  }

  private openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(`retry: 1000\ndata: ${JSON.stringify(this.options.snapshot())}\n\n`);
    this.streams.add(res);
    req.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopPushing();
    });
    this.startPushing();
  }

  private startPushing(): void {
    if (this.timer) return;
    this.lastSent = '';
    this.timer = setInterval(() => this.push(), this.options.pushEveryMs ?? PUSH_EVERY_MS);
    this.keepAlive = setInterval(() => {
      for (const s of this.streams) s.write(': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    this.timer.unref();
    this.keepAlive.unref();
  }

  private stopPushing(): void {
    clearInterval(this.timer);
    clearInterval(this.keepAlive);
    this.timer = undefined;
    this.keepAlive = undefined;
  }

  /** Sends the snapshot to every listening page if anything but its time changed. */
  private push(): void {
    let snapshot: DashboardSnapshot;
    try {
      snapshot = this.options.snapshot();
    } catch {
      return; // the next tick tries again
    }
    const { generatedAt: _, ...numbers } = snapshot;
    const key = JSON.stringify(numbers);
    if (key === this.lastSent) return;
    this.lastSent = key;
    const event = `data: ${JSON.stringify(snapshot)}\n\n`;
    for (const s of this.streams) s.write(event);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    // Everything the page needs is inline: nothing else may load.
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:",
  });
  res.end(body);
}
