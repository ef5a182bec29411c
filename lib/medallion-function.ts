import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { Duration, type Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../core/config/env';
import { PROJECT_ROOT } from './config';
import { type LogSettings, logGroupProps } from './log-settings';
import { acknowledge } from './nag';

/** The newest Node.js runtime this aws-cdk-lib knows (cdk-nag L1 asks for the latest of the family). */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Where the contracts directory is copied inside the bundle, and so where Lambda sees it. */
export const BUNDLED_CONTRACTS_DIR = 'contracts';
export const LAMBDA_TASK_ROOT = '/var/task';

/** Properties of {@link MedallionFunction}. */
export interface MedallionFunctionProps extends LogSettings {
  /** The handler module, e.g. `lambdas/landing/handler.ts` (absolute, or relative to the repository root). */
  readonly entry: string;
  /** The exported function, e.g. `apiHandler`. */
  readonly handler: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /**
   * The data contracts directory, copied into the bundle as `contracts/` and named by
   * `MEDALLION_CONTRACTS_DIR`: the handlers validate them at start-up. Must be inside the repository.
   */
  readonly contractsDir: string;
  /**
   * More environment variables (the contracts directory and source-map support are always set).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /** @default 1024 */
  readonly memorySize?: number;
  /** @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /**
   * ARM is cheaper for pure JavaScript; native modules must match it (DuckDB is x86_64 only here).
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /** @default - no reserved concurrency (the account's unreserved pool) */
  readonly reservedConcurrentExecutions?: number;
  /** @default - 512 MiB, Lambda's default */
  readonly ephemeralStorageSize?: Size;
  /**
   * Packages with native code that esbuild cannot bundle: left external and installed into the bundle
   * with npm for Lambda's platform (linux, glibc, the function's CPU), at the version installed in this
   * repository (the version the tests ran against).
   * @default - none: everything is bundled by esbuild
   */
  readonly nodeModules?: string[];
}

/**
 * A Lambda function of the pipeline: a `NodejsFunction` bundled locally by esbuild, with the project's
 * defaults: the newest Node.js runtime, the AWS SDK bundled (the handlers use conditional writes that
 * need a recent SDK, and the tested version should be the deployed one), the data contracts shipped in
 * the bundle, active X-Ray tracing, its own log group with a retention, and its own role whose only
 * standing permission is writing to that log group (no AWS managed policy).
 */
export class MedallionFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MedallionFunctionProps) {
    super(scope, id);
    const architecture = props.architecture ?? lambda.Architecture.ARM_64;
    const entry = isAbsolute(props.entry) ? props.entry : join(PROJECT_ROOT, props.entry);
    const contracts = relative(PROJECT_ROOT, props.contractsDir);
    if (contracts.startsWith('..') || isAbsolute(contracts)) {
      throw new Error(
        `contracts directory ${props.contractsDir} must be inside the repository (${PROJECT_ROOT}) to be bundled`,
      );
    }

    this.logGroup = new logs.LogGroup(this, 'Logs', logGroupProps(props));
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    // Instead of AWSLambdaBasicExecutionRole (which may write to any log group): this log group only.
    this.logGroup.grantWrite(this.role);

    const nodeModules = props.nodeModules ?? [];
    const npmCpu = architecture === lambda.Architecture.X86_64 ? 'x64' : 'arm64';
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry,
      handler: props.handler,
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      ephemeralStorageSize: props.ephemeralStorageSize,
      role: this.role,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        [ENV.CONTRACTS_DIR]: `${LAMBDA_TASK_ROOT}/${BUNDLED_CONTRACTS_DIR}`,
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        bundleAwsSDK: true,
        externalModules: nodeModules,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => [
            // The handlers load and validate every contract at start-up.
            `mkdir -p "${outputDir}/${BUNDLED_CONTRACTS_DIR}"`,
            `cp -R "${inputDir}/${contracts}/." "${outputDir}/${BUNDLED_CONTRACTS_DIR}/"`,
            ...installCommands(outputDir, nodeModules, npmCpu),
          ],
        },
      },
    });

    // X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions.
    acknowledge(
      this.role,
      'IAM5[Resource::*]',
      'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level scoping.',
    );
  }
}

/**
 * npm commands installing native packages into the bundle directory. A package.json is written first so
 * npm installs there and not into the first parent directory that has one (the repository itself).
 * `--os/--cpu/--libc` pick Lambda's binaries whatever machine synthesizes, and the exact installed
 * version is used instead of the lock file: `npm ci` cannot run on a subset of the repository's lock.
 */
function installCommands(outputDir: string, packages: string[], cpu: 'x64' | 'arm64'): string[] {
  if (packages.length === 0) return [];
  const specs = packages.map((p) => `${p}@${installedVersion(p)}`).join(' ');
  return [
    `echo '{"name":"lambda-bundle","private":true}' > "${outputDir}/package.json"`,
    `npm install --prefix "${outputDir}" --no-save --no-package-lock --no-audit --no-fund --omit=dev ` +
      `--os=linux --cpu=${cpu} --libc=glibc ${specs}`,
  ];
}

/** The version of a dependency installed in this repository (what the tests ran against). */
function installedVersion(pkg: string): string {
  const file = join(PROJECT_ROOT, 'node_modules', ...pkg.split('/'), 'package.json');
  if (!existsSync(file)) throw new Error(`${pkg} is not installed in ${PROJECT_ROOT}: run npm install first`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
