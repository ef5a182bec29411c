import { isAbsolute, join, relative, resolve } from 'node:path';
import { Annotations, Duration, type Size } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../core/config/env';
import { PROJECT_ROOT } from './config';
import { type LogSettings, logGroupProps } from './log-settings';
import { acknowledge } from './nag';
import { type NpmCpu, nativeInstallCommands, planNativeInstall } from './native-bundle';

/** The newest Node.js runtime this aws-cdk-lib knows (cdk-nag L1 asks for the latest of the family). */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Where the contracts directory is copied inside the bundle, and so where Lambda sees it. */
export const BUNDLED_CONTRACTS_DIR = 'contracts';
export const LAMBDA_TASK_ROOT = '/var/task';

/** The Lambda architecture named in the configuration (`lambdaArchitecture`). */
export function lambdaArchitecture(name: 'arm64' | 'x86_64'): lambda.Architecture {
  return name === 'x86_64' ? lambda.Architecture.X86_64 : lambda.Architecture.ARM_64;
}

/** What the constructs that own functions pass on to each `MedallionFunction` they create. */
export interface FunctionSettings {
  /**
   * The functions' CPU (native modules are bundled for it).
   * @default lambda.Architecture.ARM_64 (Graviton: ~20% cheaper per GB-second)
   */
  readonly architecture?: lambda.Architecture;
}

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
   * `MEDALLION_CONTRACTS_DIR`: the handlers validate them at start-up. Anywhere on the machine that
   * synthesizes (bundling runs locally with esbuild; the asset's hash is the bundle's, contracts included).
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
   * The CPU: Graviton (ARM_64) costs ~20% less per GB-second than X86_64. The `nodeModules` are installed
   * for it, and synth fails if one has no binding for it (see NATIVE_BINDINGS in native-bundle.ts).
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
  /** @default - no reserved concurrency (the account's unreserved pool) */
  readonly reservedConcurrentExecutions?: number;
  /** @default - 512 MiB, Lambda's default */
  readonly ephemeralStorageSize?: Size;
  /**
   * Packages with native code that esbuild cannot bundle: left external and installed into the bundle
   * by `npm ci` for Lambda's platform (linux, glibc, the function's CPU) from a lock file cut from
   * `lockFile`: the exact versions and integrity hashes the tests ran against. Each must have an entry in
   * NATIVE_BINDINGS (native-bundle.ts): bundling fails when its binding for the CPU is not installed.
   * @default - none: everything is bundled by esbuild
   */
  readonly nodeModules?: string[];
  /**
   * The npm lock file `nodeModules` are installed from.
   * @default - the repository's package-lock.json
   */
  readonly lockFile?: string;
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
    // Inside the repository: relative to the bundling's input directory; elsewhere (another CDK app's
    // contracts): by absolute path, which local bundling reaches.
    const inRepository = relative(PROJECT_ROOT, resolve(props.contractsDir));
    const contractsSource = (inputDir: string) =>
      inRepository.startsWith('..') || isAbsolute(inRepository)
        ? resolve(props.contractsDir)
        : `${inputDir}/${inRepository}`;

    this.logGroup = new logs.LogGroup(this, 'Logs', logGroupProps(props));
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    // Instead of AWSLambdaBasicExecutionRole (which may write to any log group): this log group only.
    this.logGroup.grantWrite(this.role);

    const nodeModules = props.nodeModules ?? [];
    // By name: an Architecture made with lambda.Architecture.custom() is another object.
    const npmCpu: NpmCpu = architecture.name === lambda.Architecture.X86_64.name ? 'x64' : 'arm64';
    // Planned now, so an unknown package or one missing from the lock fails even when bundling is skipped.
    const nativeInstall =
      nodeModules.length > 0
        ? planNativeInstall(nodeModules, npmCpu, props.lockFile ?? join(PROJECT_ROOT, 'package-lock.json'))
        : undefined;
    if (nativeInstall && nativeInstall.unverified.length > 0) {
      Annotations.of(this).addWarningV2(
        'medallion:native-bundle-unverified',
        `the lock file has no integrity hash for ${nativeInstall.unverified.join(', ')}: npm ci installs ` +
          "it for Lambda checked only against the registry's. Record the hash: delete its entry from " +
          'package-lock.json, run `npm install --package-lock-only` and commit the lock.',
      );
    }
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
            `cp -R "${contractsSource(inputDir)}/." "${outputDir}/${BUNDLED_CONTRACTS_DIR}/"`,
            ...(nativeInstall ? nativeInstallCommands(outputDir, nativeInstall) : []),
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
