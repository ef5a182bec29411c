/**
 * The bronze-to-silver Lambda: an SQS batch of bronze ObjectCreated events in, a partial batch response out.
 *
 * Configuration, the S3 client, the contracts and the engine are set up once per Lambda instance, at
 * module load, so a missing variable or a broken contract fails loudly on the first invocation.
 */

import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ENV, positiveInt, readEnv } from '../../core/config/env';
import { ContractRegistry } from '../../core/contracts/load-contracts';
import { createLogger } from '../../core/telemetry/logger';
import { piiSaltSource, resolvePiiSalt } from '../aws/pii-salt';
import { createS3Client } from '../aws/s3';
import { Engine } from './duckdb-engine';
import { processBatch } from './sqs-batch';
import { BronzeToSilver } from './transform';

const settings = readEnv({
  silverBucket: { name: ENV.SILVER_BUCKET },
  quarantineBucket: { name: ENV.QUARANTINE_BUCKET },
  contractsDir: { name: ENV.CONTRACTS_DIR },
  scratchDir: { name: ENV.SCRATCH_DIR, default: tmpdir() },
  maxDecompressedBytes: { name: ENV.MAX_DECOMPRESSED_BYTES, default: String(4 * 1024 ** 3) },
  engineMemoryLimit: { name: ENV.ENGINE_MEMORY_LIMIT, default: '512MB' },
  engineThreads: { name: ENV.ENGINE_THREADS, default: String(cpus().length) },
  // The construct's default; the stack sets the queue's real value.
  maxReceiveCount: { name: ENV.MAX_RECEIVE_COUNT, default: '3' },
});

// Parsed here, synchronously: inside the engine's promise a bad value would only surface as an unhandled
// rejection that kills the runtime, not as an import error naming the variable.
const maxDecompressedBytes = positiveInt(ENV.MAX_DECOMPRESSED_BYTES, settings.maxDecompressedBytes);
const engineThreads = positiveInt(ENV.ENGINE_THREADS, settings.engineThreads);
const maxReceiveCount = positiveInt(ENV.MAX_RECEIVE_COUNT, settings.maxReceiveCount);
const saltSource = piiSaltSource();
const contracts = ContractRegistry.fromDirectory(settings.contractsDir);
const s3 = createS3Client();
const logger = createLogger();
const transform: Promise<BronzeToSilver> = Promise.all([
  Engine.create({
    memoryLimit: settings.engineMemoryLimit,
    threads: engineThreads,
    tempDirectory: join(settings.scratchDir, 'duckdb-spill'),
  }),
  resolvePiiSalt(saltSource),
]).then(
  ([engine, piiSalt]) =>
    new BronzeToSilver({
      s3,
      engine,
      contracts,
      logger,
      config: {
        silverBucket: settings.silverBucket,
        quarantineBucket: settings.quarantineBucket,
        scratchDir: settings.scratchDir,
        maxDecompressedBytes,
        piiSalt,
      },
    }),
);
// A failed start (e.g. an invalid memory limit) is reported by the first invocation that awaits it, not as
// an unhandled rejection that would kill the runtime before it can say why.
transform.catch(() => undefined);

/**
 * `context` gives the invocation's deadline: the batch stops itself a margin before it (see `sqs-batch.ts`)
 * rather than being killed half-way through a file.
 */
export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  return processBatch(await transform, event, undefined, { context, maxReceiveCount, logger });
}
