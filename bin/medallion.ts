#!/usr/bin/env -S node --import tsx
/**
 * The medallion command line (run with tsx: `node --import tsx bin/medallion.ts`, one process, as the npm
 * scripts and this file's shebang run it, or `npx tsx bin/medallion.ts`):
 *
 *   npx tsx bin/medallion.ts pipeline [--contracts DIR] [--data DIR] [--state DIR] [--keep-state]
 *                                      [--report FILE] [--port N] [--api-port N] [--verbose]
 *                                      [--keep-running [--dashboard-port N]]
 *   npx tsx bin/medallion.ts local [--contracts DIR] [--state DIR] [--port N] [--api-port N] [--verbose]
 *                                   [--dashboard-port N]
 *   npx tsx bin/medallion.ts query "<sql>" [--format table|json|csv] [--state DIR] [--contracts DIR] [--athena]
 *   npx tsx bin/medallion.ts replay --dataset NAME [--since YYYY-MM-DD] [--state DIR] [--models DIR | --no-gold]
 *                                    [--queue-url URL]
 *   npx tsx bin/medallion.ts smoke --local | --outputs-file FILE [--stack NAME] [--timeout SECONDS] ...
 *   npx tsx bin/medallion.ts contract-schema [--out FILE]
 *   npx tsx bin/medallion.ts check [--contracts DIR] [--models DIR] [--against REF]
 *
 * Exit codes: 0 all good; 1 the pipeline ran but something failed (a dead-lettered message, a failed
 * landing, a broken conservation check), or an unexpected failure stopped the command (one line on stderr,
 * its stack in `<state>/logs/medallion-errors.log`); 2 the command could not run (bad arguments, unknown
 * dataset directory, invalid contract, port in use...), with one line on stderr saying why.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { errorMessage, RejectError } from '../core/errors';
import { DEFAULT_CONTRACTS_DIR, DEFAULT_STATE_DIR } from '../local/command-defaults';
import { contractSchemaText, DEFAULT_SCHEMA_FILE } from './write-contract-schema';

const USAGE_ERROR = 2;
/** An unexpected failure (not a refusal of the command's input): exit 1, the stack in the state's log. */
const RUNTIME_FAILURE = 1;

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** The options of a command that runs the local cloud: its ports, and where the functions' logs go. */
function withLocalCloudOptions(command: Command): Command {
  return command
    .option('--port <n>', 'local S3 port on 127.0.0.1 (0: any free port)', port, 4566)
    .option('--api-port <n>', 'ingest API port on 127.0.0.1 (0: any free port)', port, 4567)
    .option(
      '--dashboard-port <n>',
      'local dashboard port on 127.0.0.1 while the cloud runs (default: 4568, or any free port if taken; 0: any free port)',
      port,
    )
    .option('--verbose', "print the functions' logs instead of writing them to <state>/logs", false);
}

/** What a command running the local cloud passes on from `--contracts`, `--state` and the options above. */
function localCloudSettings(o: {
  contracts: string;
  state: string;
  port: number;
  apiPort: number;
  dashboardPort?: number;
  verbose: boolean;
}) {
  return {
    contractsDir: o.contracts,
    stateDir: o.state,
    port: o.port,
    apiPort: o.apiPort,
    dashboardPort: o.dashboardPort,
    functionLogs: o.verbose ? ('inherit' as const) : undefined,
  };
}

/** `--gold-engine`: the engine the gold models run on (and are checked for). */
function goldEngineOption(): Option {
  return new Option(
    '--gold-engine <engine>',
    'run (and check) the gold models for Athena (DuckDB locally) or Redshift Serverless (PostgreSQL, PGlite, locally)',
  )
    .choices(['athena', 'redshift'])
    .default('athena');
}

/** The version in package.json (what `--version` prints). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string })
    .version;
}

/** `exit.code` receives the command's exit code (not `process.exitCode`: tests run many commands in one process). */
export function program(exit: { code: number } = { code: 0 }): Command {
  const cli = new Command('medallion')
    .description('Serverless medallion data pipeline: local tools')
    .version(packageVersion(), '-V, --version', 'print the version of medallion')
    .exitOverride();

  const pipeline = cli
    .command('pipeline')
    .description(
      'run data files through a local cloud (landing -> bronze -> silver -> gold) and check that every row is accounted for',
    )
    .option('--contracts <dir>', 'data contracts directory', DEFAULT_CONTRACTS_DIR)
    .option('--data <dir>', 'input files, as <dir>/<dataset>/<file>', 'samples/data')
    .option('--models <dir>', 'gold SQL models (default: samples/models with the sample contracts)')
    .option('--no-gold', 'stop after silver')
    .option(
      '--state <dir>',
      'local buckets, scratch space and logs (wiped first unless --keep-state)',
      DEFAULT_STATE_DIR,
    )
    .option('--keep-state', 'keep the buckets of an earlier run', false)
    .option(
      '--full-refresh',
      'rebuild every partition of the incremental gold models (default: only dates whose inputs changed)',
      false,
    )
    .addOption(goldEngineOption())
    .option('--report <file>', 'write the run report (JSON) to this file');
  withLocalCloudOptions(pipeline)
    .option('--keep-running', 'keep the local cloud running after the report, until Ctrl-C', false)
    .action(async (o) => {
      const { runPipeline } = await import('../local/commands/pipeline');
      const { listenForStop } = await import('../local/commands/local');
      // Listening once the run is done (Ctrl-C during the run still ends it at once), until it has stopped.
      let signals: ReturnType<typeof listenForStop> | undefined;
      try {
        const report = await runPipeline({
          ...localCloudSettings(o),
          dataDir: o.data,
          modelsDir: o.gold === false ? false : o.models,
          keepState: o.keepState,
          fullRefresh: o.fullRefresh,
          goldEngine: o.goldEngine,
          reportFile: o.report,
          keepRunning: o.keepRunning
            ? () => {
                signals = listenForStop();
                return signals.requested;
              }
            : undefined,
        });
        exit.code = report.ok ? 0 : 1;
      } finally {
        signals?.dispose();
      }
    });

  const local = cli
    .command('local')
    .description('start the local cloud (S3, the ingest API, the functions and their wiring) until Ctrl-C')
    .option('--contracts <dir>', 'data contracts directory', DEFAULT_CONTRACTS_DIR)
    .option('--state <dir>', 'local buckets, scratch space and logs (kept)', DEFAULT_STATE_DIR);
  withLocalCloudOptions(local).action(async (o) => {
    const { startLocal, listenForStop } = await import('../local/commands/local');
    // Listening from the start: a signal while the cloud starts stops it once started, cleanly.
    const signals = listenForStop();
    try {
      await startLocal({ ...localCloudSettings(o), until: () => signals.requested });
    } finally {
      signals.dispose();
    }
  });

  cli
    .command('query')
    .description(
      'run SQL (DuckDB) over the local silver tables and catalogued gold tables, named as in Athena',
    )
    .argument('<sql>', 'the query, e.g. "SELECT count(*) FROM orders"')
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'),
    )
    .option('--state <dir>', 'the local state directory', DEFAULT_STATE_DIR)
    .option('--contracts <dir>', 'data contracts directory (the silver tables)', DEFAULT_CONTRACTS_DIR)
    .option('--athena', 'refuse SQL Athena would not run (DuckDB-only syntax), before running it', false)
    .action(async (sql: string, o) => {
      const { runQuery, formatResult } = await import('../local/commands/query');
      const result = await runQuery(sql, { stateDir: o.state, contractsDir: o.contracts, athena: o.athena });
      process.stdout.write(formatResult(result, o.format));
    });

  cli
    .command('replay')
    .description(
      "rebuild a dataset's silver (send its bronze objects' notifications to the transform queue again), then locally the gold models in full",
    )
    .requiredOption('--dataset <name>', 'the dataset (a contract)')
    .option('--since <date>', 'only bronze objects with ingest_date >= this day (YYYY-MM-DD)')
    .option('--state <dir>', 'the local state directory', DEFAULT_STATE_DIR)
    .option('--contracts <dir>', 'data contracts directory', DEFAULT_CONTRACTS_DIR)
    .option('--port <n>', 'local S3 port on 127.0.0.1 during the replay (0: any free port)', port, 0)
    .option(
      '--models <dir>',
      'gold models rebuilt after silver (default: samples/models with the sample contracts)',
    )
    .option('--no-gold', 'rebuild silver only')
    .option('--queue-url <url>', "a deployed stack's transform queue: replay there instead of locally")
    .option(
      '--bronze-bucket <name>',
      'with --queue-url: the deployed bronze bucket (output BronzeBucketName)',
    )
    .action(async (o) => {
      const { replay, replayToQueue } = await import('../local/commands/replay');
      const { ReplayError } = await import('../core/errors');
      const scope = { dataset: o.dataset, since: o.since, contractsDir: o.contracts };
      if (o.queueUrl) {
        if (!o.bronzeBucket)
          throw new ReplayError('--queue-url needs --bronze-bucket (the stack output BronzeBucketName)');
        const { SQSClient } = await import('@aws-sdk/client-sqs');
        const { createS3Client } = await import('../lambdas/aws/s3');
        await replayToQueue({
          ...scope,
          queueUrl: o.queueUrl,
          bronzeBucket: o.bronzeBucket,
          s3: createS3Client(),
          sqs: new SQSClient({}),
        });
        return;
      }
      const report = await replay({
        ...scope,
        stateDir: o.state,
        port: o.port,
        modelsDir: o.gold === false ? false : o.models,
      });
      exit.code = report.deadLettered === 0 && (report.gold?.ok ?? true) ? 0 : 1;
    });

  cli
    .command('smoke')
    .description(
      'after a deploy (or in CI, against the local cloud): a tiny sample through both doors, silver, gold, a query and the alarm topic policy, as a pass/fail table (exit 0 all passed, 1 a check failed)',
    )
    .option('--local', 'start a local cloud (free ports, temporary state) and smoke it', false)
    .option('--outputs-file <file>', 'what `cdk deploy --outputs-file <file>` wrote: smoke that deployment')
    .option(
      '--stack <name>',
      'with --outputs-file: the platform stack, e.g. Medallion-prod (default: the one with the outputs)',
    )
    .option('--contracts <dir>', 'data contracts directory (the deployed ones)', DEFAULT_CONTRACTS_DIR)
    .option('--data <dir>', 'sample rows are taken from <dir>/<dataset>/<file>', 'samples/data')
    .option('--landing-dataset <name>', 'dataset uploaded to the landing bucket (default: the first CSV one)')
    .option('--api-dataset <name>', 'dataset POSTed to the API (default: the first JSON/NDJSON one)')
    .option('--timeout <seconds>', 'longest wait of one check (silver, gold, query)', positiveNumber, 600)
    .option('--models <dir>', 'with --local: gold models (default: samples/models with the sample contracts)')
    .option(
      '--state <dir>',
      'with --local: state directory, wiped first (default: a temporary one, removed if all passed)',
    )
    .option('--port <n>', 'with --local: S3 port on 127.0.0.1 (0: any free port)', port, 0)
    .option('--api-port <n>', 'with --local: ingest API port on 127.0.0.1 (0: any free port)', port, 0)
    .option(
      '--verbose',
      "with --local: print the functions' logs instead of writing them to <state>/logs",
      false,
    )
    .action(async (o) => {
      const { PipelineUsageError } = await import('../core/errors');
      if (Boolean(o.local) === Boolean(o.outputsFile)) {
        throw new PipelineUsageError(
          'choose one target: --local, or --outputs-file FILE [--stack NAME] (what `cdk deploy --outputs-file FILE` wrote)',
        );
      }
      const { runSmoke } = await import('../local/commands/smoke');
      const report = await runSmoke({
        target: o.local ? { local: true } : { outputsFile: resolve(o.outputsFile), stack: o.stack },
        contractsDir: o.contracts,
        dataDir: o.data,
        landingDataset: o.landingDataset,
        apiDataset: o.apiDataset,
        timeoutMs: o.timeout * 1000,
        modelsDir: o.models,
        stateDir: o.state,
        port: o.port,
        apiPort: o.apiPort,
        functionLogs: o.verbose ? 'inherit' : undefined,
      });
      exit.code = report.ok ? 0 : 1;
    });

  cli
    .command('check')
    .description(
      'check the data contracts and gold models before anything runs (YAML and schema, regexes as DuckDB reads them, refs, Athena syntax, each header against what its SELECT yields); exit 1 on a problem',
    )
    .option('--contracts <dir>', 'data contracts directory', DEFAULT_CONTRACTS_DIR)
    .option('--models <dir>', 'gold SQL models (default: samples/models with the sample contracts)')
    .addOption(goldEngineOption())
    .option(
      '--against <ref>',
      'also list the contract and model changes since this git ref that break readers: each fails unless the major version went up',
    )
    .action(
      async (o: {
        contracts: string;
        models?: string;
        goldEngine: 'athena' | 'redshift';
        against?: string;
      }) => {
        const { runCheck } = await import('../local/commands/check');
        exit.code = await runCheck({
          contractsDir: o.contracts,
          modelsDir: o.models,
          goldEngine: o.goldEngine,
          against: o.against,
        });
      },
    );

  cli
    .command('contract-schema')
    .description('write the JSON Schema of data contract files (for editor completion)')
    .option('--out <file>', 'where to write it', DEFAULT_SCHEMA_FILE)
    .action((o: { out: string }) => {
      writeFileSync(o.out, contractSchemaText());
      console.log(`wrote ${o.out}`);
    });

  return cli;
}

export async function main(argv: string[]): Promise<number> {
  // The SDK warns on every run that future versions will need Node 22: noise for a local tool.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  try {
    const exit = { code: 0 };
    await program(exit).parseAsync(argv);
    return exit.code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : USAGE_ERROR; // commander printed why
    const message = errorMessage(e).split('\n').join(' ');
    if (e instanceof RejectError) {
      process.stderr.write(`error: ${message}\n`);
      if (argv.includes('--verbose') && e.stack) process.stderr.write(`${e.stack}\n`);
      return USAGE_ERROR;
    }
    const log = logUnexpected(argv, e);
    process.stderr.write(`error: ${message}${log ? ` (stack in ${log})` : ''}\n`);
    return RUNTIME_FAILURE;
  }
}

/** Appends an unexpected failure's stack to `<state>/logs/medallion-errors.log`; the file, or undefined. */
function logUnexpected(argv: string[], e: unknown): string | undefined {
  const at = argv.indexOf('--state');
  const given = at >= 0 ? argv[at + 1] : argv.find((a) => a.startsWith('--state='))?.slice('--state='.length);
  const log = join(resolve(given ?? DEFAULT_STATE_DIR), 'logs', 'medallion-errors.log');
  try {
    mkdirSync(dirname(log), { recursive: true });
    const stack = e instanceof Error ? (e.stack ?? String(e)) : String(e);
    appendFileSync(log, `${new Date().toISOString()} medallion ${argv.slice(2).join(' ')}\n${stack}\n\n`);
    return log;
  } catch {
    return undefined;
  }
}

/**
 * Exits once stdout and stderr have handed everything written to the OS: `process.exit` right away
 * drops what a pipe has not taken yet (`query ... | wc -c` saw 128 KiB of 1.5 MB).
 */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

if (require.main === module) {
  // A reader that stops early (`| head`) closes the pipe: that ends the output, not the run with a crash.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  main(process.argv).then(exitAfterOutput, () => exitAfterOutput(RUNTIME_FAILURE));
}
