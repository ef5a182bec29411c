/**
 * Transient S3 errors on demand, for the local S3 server: a Koa middleware, run before s3rver (and before
 * the conditional-writes lock), that answers a chosen share of requests the way S3 answers when it is
 * briefly unwell: 500 `InternalError` ("We encountered an internal error. Please try again.") or 503
 * `SlowDown`, with S3's XML error body. The request never reaches s3rver, so nothing is written, read or
 * notified: exactly what a client that retries must survive.
 *
 * Off unless asked for: `MEDALLION_LOCAL_S3_FAULT_RATE` (a share in [0, 1], e.g. `0.05`) turns it on for
 * every local S3 server the process starts, `MEDALLION_LOCAL_S3_FAULT_SEED` (an integer) makes the choice
 * of failing requests repeatable. One fault in ten is a `SlowDown` (the SDK backs off longer on
 * throttling), the others `InternalError`.
 */
import { randomUUID } from 'node:crypto';

/** The environment variable holding the share of requests to fail. */
export const FAULT_RATE_VARIABLE = 'MEDALLION_LOCAL_S3_FAULT_RATE';
/** The environment variable holding the seed of the choice of failing requests. */
export const FAULT_SEED_VARIABLE = 'MEDALLION_LOCAL_S3_FAULT_SEED';

/** How often, and how repeatably, requests fail. */
export interface S3FaultSettings {
  /** The share of requests answered with an error, in [0, 1]. */
  readonly rate: number;
  /** Seeds the choice of failing requests; without it the choice differs from run to run. */
  readonly seed?: number;
}

type KoaContext = {
  method: string;
  path: string;
  status: number;
  body: unknown;
  type: string;
  set(field: string, value: string): void;
};

/**
 * The settings `env` asks for, or `undefined` when it asks for none (variable unset, empty or 0). A value
 * that is not a share or a seed that is not an integer throws: a test that meant to inject faults must
 * not silently run without them.
 */
export function faultSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3FaultSettings | undefined {
  const rateText = env[FAULT_RATE_VARIABLE]?.trim();
  if (!rateText) return undefined;
  const rate = Number(rateText);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new Error(`${FAULT_RATE_VARIABLE} must be a number between 0 and 1, not '${rateText}'`);
  }
  if (rate === 0) return undefined;
  const seedText = env[FAULT_SEED_VARIABLE]?.trim();
  if (!seedText) return { rate };
  const seed = Number(seedText);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`${FAULT_SEED_VARIABLE} must be an integer, not '${seedText}'`);
  }
  return { rate, seed };
}

/** mulberry32: a small, fast generator of numbers in [0, 1); the same seed gives the same sequence. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An S3 error answer, as S3 shapes it. */
interface S3Fault {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

const INTERNAL_ERROR: S3Fault = {
  status: 500,
  code: 'InternalError',
  message: 'We encountered an internal error. Please try again.',
};
const SLOW_DOWN: S3Fault = { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };

/** Fails a share of the requests it sees and counts them. */
export class S3FaultInjector {
  /** Requests seen. */
  requests = 0;
  /** Requests answered with an injected error. */
  injected = 0;
  /** Injected errors by S3 error code. */
  readonly byCode: Record<string, number> = {};
  /** Whether a request fails; its own sequence, so which requests fail depends on the seed and rate only. */
  private readonly failing: () => number;
  /** Which error a failing request gets. */
  private readonly kind: () => number;

  constructor(readonly settings: S3FaultSettings) {
    const { seed } = settings;
    this.failing = seed === undefined ? Math.random : seededRandom(seed);
    this.kind = seed === undefined ? Math.random : seededRandom(seed ^ 0x5eed);
  }

  /** One line: how many requests failed, of how many, by error code. */
  summary(): string {
    const codes = Object.entries(this.byCode)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => `${n} ${code}`)
      .join(', ');
    return `local S3 fault injection: ${this.injected} of ${this.requests} request(s) failed${codes ? ` (${codes})` : ''}`;
  }

  /** The Koa middleware: put it first, so a failed request reaches nothing else. */
  readonly middleware = async (ctx: KoaContext, next: () => Promise<unknown>): Promise<unknown> => {
    this.requests += 1;
    if (this.failing() >= this.settings.rate) return next();
    const fault = this.kind() < 0.1 ? SLOW_DOWN : INTERNAL_ERROR;
    this.injected += 1;
    this.byCode[fault.code] = (this.byCode[fault.code] ?? 0) + 1;
    const requestId = randomUUID();
    ctx.status = fault.status;
    ctx.type = 'application/xml';
    ctx.set('x-amz-request-id', requestId);
    // Koa sends no body for a HEAD: the SDK then names the error by its status, as it does with S3.
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<Error><Code>${fault.code}</Code><Message>${fault.message}</Message>` +
      `<Resource>${escapeXml(ctx.path)}</Resource><RequestId>${requestId}</RequestId></Error>`;
    return undefined;
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Puts a fault injector in front of `middleware` (s3rver's Koa stack) when `settings` (default: the
 * environment's) ask for one, and returns it; `undefined`, and nothing installed, otherwise. Faults asked
 * for by the environment are counted on stderr when the process exits.
 */
export function installS3FaultInjection<M>(
  middleware: M[],
  settings?: S3FaultSettings,
): S3FaultInjector | undefined {
  const asked = settings ?? faultSettingsFromEnv();
  if (!asked) return undefined;
  const injector = new S3FaultInjector(asked);
  middleware.unshift(injector.middleware as unknown as M);
  if (!settings) reportFaultsOnExit(injector);
  return injector;
}

/**
 * Says on stderr, when the process exits, how many requests `injector` failed: a run with faults asked
 * for by the environment shows that they happened (and a test of such a run can check it).
 */
function reportFaultsOnExit(injector: S3FaultInjector): void {
  process.once('exit', () => process.stderr.write(`${injector.summary()}\n`));
}
