/**
 * The Redshift Serverless engine of the gold workflow: each statement goes through the Redshift Data API
 * (submitted, then polled: `redshift-statement.ts`), built by `core/gold/redshift-sql.ts`.
 *
 *   setup      once per execution, before the first wave: the external schema over the Glue database
 *              and the gold schema (idempotent);
 *   build      `<model>__next` from the model's SQL (one transaction, `batchExecuteStatement`);
 *   unload     `<model>__next` as Parquet into the run's version prefix, encrypted with the lake key;
 *   [tests]    the workflow's, on Athena, on the version just unloaded;
 *   swap       `<model>__next` renamed to `<model>` (one transaction), right before the catalog switch.
 *
 * Sources (AWS documentation):
 * - "Actions, resources, and condition keys for Amazon Redshift Data API" (list_amazonredshiftdataapi):
 *   ExecuteStatement and BatchExecuteStatement are scoped to a workgroup; DescribeStatement and
 *   CancelStatement support no resource type, only the condition key
 *   `redshift-data:statement-owner-iam-userid`.
 * - "Configuring IAM permissions" (data-api-iam): with Secrets Manager authentication the caller needs
 *   `secretsmanager:GetSecretValue` on the secret; "Secret encryption and decryption" (Secrets Manager,
 *   security-encryption): the secret's key is used through Secrets Manager (`kms:ViaService`), with the
 *   secret's ARN as encryption context (`kms:EncryptionContext:SecretARN`).
 * - "Using identity-based policies (IAM policies) for Amazon Redshift"
 *   (redshift-iam-access-control-identity-based): `statement-owner-iam-userid` = `${aws:userid}` limits a
 *   principal to the statements of the same `aws:userid`, "others in the same IAM role" excluded; for a
 *   role `aws:userid` is `<role id>:<session name>` ("IAM policy elements: Variables and tags"). Step
 *   Functions names its sessions itself, so the condition here is the role's id followed by any session.
 * - "Unloading encrypted data files" (t_unloading_encrypted_files): `KMS_KEY_ID '<key>' ENCRYPTED` is
 *   SSE-KMS, done by S3 with the role's (the Spectrum role's) permissions on the key.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { GoldModel } from '../../core/gold/models';
import {
  goldTable,
  NEXT_SUFFIX,
  REDSHIFT_GOLD_SCHEMA,
  redshiftBuildStatements,
  redshiftSchemaStatements,
  redshiftSwapStatements,
  redshiftUnloadStatement,
} from '../../core/gold/redshift-sql';
import { goldModelPrefix } from '../../core/lake/layout';
import { acknowledge } from '../nag';
import type { GoldEngine, GoldEngineStates, GoldModelTarget } from './gold-engine';
import { allowGoldReads } from './redshift-spectrum-role';
import { type RedshiftDataAction, redshiftStatement } from './redshift-statement';

/** Properties of {@link RedshiftEngine}. */
export interface RedshiftEngineProps {
  /** The workgroup the statements run in. */
  readonly workgroupName: string;
  /** Its ARN (`...:workgroup/<workgroup id>`): what the Data API calls are scoped to. */
  readonly workgroupArn: string;
  /** The warehouse database the statements run in (e.g. 'dev'). */
  readonly database: string;
  /**
   * The namespace's admin secret (Redshift-managed), the Data API's credentials (`SecretArn`): a
   * temporary-credentials (GetCredentials) database user would need grants on the schemas, the external
   * schema and the default IAM role that nobody has created yet, while the admin owns everything it creates.
   */
  readonly adminSecret: secretsmanager.ISecret | string;
  /**
   * The key the admin secret is encrypted with (the namespace's `adminPasswordSecretKmsKeyId`).
   * @default - the secret's `encryptionKey`, when `adminSecret` is an ISecret that has one; else none
   */
  readonly adminSecretKey?: kms.IKey;
  /** The Glue database of the silver and gold tables: the external schema of the same name reads it. */
  readonly glueDatabase: string;
  /** The Redshift schema of the gold tables. @default REDSHIFT_GOLD_SCHEMA ('gold') */
  readonly goldSchema?: string;
  /** The lake key: the UNLOAD encrypts the version's files with it (`KMS_KEY_ID`). */
  readonly unloadKey: kms.IKey;
  /**
   * The namespace's default IAM role (the Spectrum role): it is granted reads of the gold prefixes of the
   * models each model depends on (their published tables, read through Spectrum).
   */
  readonly spectrumRole: iam.IRole;
  /** How long between two status checks of a statement. @default Duration.seconds(5) */
  readonly pollInterval?: Duration;
  /** How long a statement may run before it is cancelled. @default Duration.hours(1) */
  readonly queryTimeout?: Duration;
}

/** State paths of the statements that are not the model's write (the workflow reads `target.resultPath`). */
const PATHS = { setup: '$.redshiftSetup', swap: '$.redshiftSwap', statement: '$.run' } as const;

/**
 * Runs gold models on Redshift Serverless through the Data API, authenticated with the namespace's admin
 * secret (see {@link RedshiftEngineProps.adminSecret}). A full model is built as `<model>__next`,
 * unloaded into the run's version prefix, tested there by the workflow, then swapped in; the workflow
 * switches the Glue table to the version, so Athena readers and Redshift readers see the same gold.
 */
export class RedshiftEngine implements GoldEngine {
  public readonly name = 'redshift';
  private readonly props: RedshiftEngineProps;
  private readonly schema: string;
  private readonly pollInterval: Duration;
  private readonly queryTimeout: Duration;
  private readonly secretArn: string;
  private readonly secretKey?: kms.IKey;
  private bound = false;

  constructor(props: RedshiftEngineProps) {
    this.props = props;
    this.schema = props.goldSchema ?? REDSHIFT_GOLD_SCHEMA;
    this.pollInterval = props.pollInterval ?? Duration.seconds(5);
    this.queryTimeout = props.queryTimeout ?? Duration.hours(1);
    const poll = this.pollInterval.toMilliseconds() / 1000;
    if (!Number.isInteger(poll) || poll < 1) {
      throw new Error(
        `Redshift engine: pollInterval must be a whole number of seconds, at least 1 (${poll})`,
      );
    }
    if (this.queryTimeout.toSeconds() < poll) {
      throw new Error('Redshift engine: queryTimeout must be at least pollInterval');
    }
    if (typeof props.adminSecret === 'string') {
      this.secretArn = props.adminSecret;
      this.secretKey = props.adminSecretKey;
    } else {
      this.secretArn = props.adminSecret.secretArn;
      this.secretKey = props.adminSecretKey ?? props.adminSecret.encryptionKey;
    }
  }

  /**
   * The model's build statements (`build1`, `build2`, ...) and the UNLOAD of `<model>__next` around the
   * run's version location (`before`, `after`). The build statements are carried here, as plain values,
   * rather than as an array in the task's parameters: the ASL validator the offline runner bundles
   * refuses a multi-line string inside an array (its pattern's `.` stops at a newline), and a model's SQL
   * keeps its newlines (a `--` comment ends at one).
   */
  public modelInput(model: GoldModel): Record<string, string> {
    const next = goldTable(`${model.name}${NEXT_SUFFIX}`, this.schema);
    const build = redshiftBuildStatements(model.name, model.sql, this.schema);
    return {
      ...Object.fromEntries(build.map((sql, i) => [`build${i + 1}`, sql])),
      ...redshiftUnloadStatement(`SELECT * FROM ${next}`, { kmsKeyId: this.props.unloadKey.keyId }),
    };
  }

  /** The external schema over the Glue database and the gold schema, in one transaction. */
  public setup(scope: Construct, alarm: sfn.IChainable): GoldEngineStates {
    this.requireBinding(scope);
    return this.statement(scope, {
      id: 'RedshiftSetup',
      stateName: 'redshift setup: schemas',
      comment: `Creates the external schema over ${this.props.glueDatabase} and the schema ${this.schema} when missing.`,
      action: 'batchExecuteStatement',
      sql: redshiftSchemaStatements(this.props.glueDatabase, this.schema),
      statementName: 'medallion-gold-setup',
      resultPath: PATHS.setup,
      failure: alarm,
    });
  }

  /** Build `<model>__next`, then unload it into the version prefix. */
  public runModelTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    alarm: sfn.IChainable,
  ): GoldEngineStates {
    this.requireBinding(scope);
    const name = model.name;
    // Spectrum reads the published tables the model depends on.
    allowGoldReads(this.props.spectrumRole, target.bucket, model.dependsOn.map(goldModelPrefix));
    const build = this.statement(scope, {
      id: `${name}-Build`,
      stateName: `${name}: build`,
      comment: `Builds ${this.schema}.${name}${NEXT_SUFFIX} from the model's SQL (one transaction).`,
      action: 'batchExecuteStatement',
      // The statements of modelInput, in order.
      sql: sfn.JsonPath.array(
        ...redshiftBuildStatements(name, model.sql, this.schema).map((_, i) =>
          sfn.JsonPath.stringAt(`${target.inputPath}.build${i + 1}`),
        ),
      ),
      statementName: `medallion-gold-${name}-build`,
      resultPath: target.resultPath,
      failure: alarm,
    });
    const unload = this.statement(scope, {
      id: `${name}-Unload`,
      stateName: `${name}: unload`,
      comment: `Unloads ${this.schema}.${name}${NEXT_SUFFIX} as Parquet into the new version's prefix.`,
      action: 'executeStatement',
      sql: sfn.JsonPath.format(
        '{}{}{}',
        sfn.JsonPath.stringAt(`${target.inputPath}.before`),
        sfn.JsonPath.stringAt(target.locationPath),
        sfn.JsonPath.stringAt(`${target.inputPath}.after`),
      ),
      statementName: `medallion-gold-${name}-unload`,
      resultPath: target.resultPath,
      // The workflow keeps the write's id as the model's `queryExecutionId`.
      idAliases: ['QueryExecutionId'],
      failure: alarm,
    });
    return { chain: build.chain.next(unload.chain), tasks: [...build.tasks, ...unload.tasks] };
  }

  /** Swap `<model>__next` in as `<model>`, once the version is tested and before the catalog switch. */
  public beforePublish(
    scope: Construct,
    model: GoldModel,
    _target: GoldModelTarget,
    alarm: sfn.IChainable,
  ): GoldEngineStates {
    const name = model.name;
    return this.statement(scope, {
      id: `${name}-Swap`,
      stateName: `${name}: swap`,
      comment: `Renames ${this.schema}.${name}${NEXT_SUFFIX} to ${name} (one transaction; the previous table is dropped).`,
      action: 'batchExecuteStatement',
      sql: redshiftSwapStatements(name, this.schema),
      statementName: `medallion-gold-${name}-swap`,
      resultPath: PATHS.swap,
      failure: alarm,
    });
  }

  /**
   * One statement of the gold planner's, in a Map's item processor: it ends with `<model>: write batch
   * finished`, or fails the item with the statement's error (the Map's catch sends the model's alarm).
   */
  public runStatementTask(
    scope: Construct,
    model: GoldModel,
    target: GoldModelTarget,
    statementPath: string,
  ): sfn.IChainable {
    this.requireBinding(scope);
    const name = model.name;
    allowGoldReads(this.props.spectrumRole, target.bucket, model.dependsOn.map(goldModelPrefix));
    const failed = sfn.Fail.jsonPath(scope, `${name}-WriteBatchError`, {
      stateName: `${name}: write batch error`,
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    const written = this.statement(scope, {
      id: `${name}-WriteBatch`,
      stateName: `${name}: write batch`,
      // The planner writes one Redshift transaction per run (`redshiftReplaceDatesStatements`).
      comment: `Runs one of the gold planner's transactions for ${name} (its statements, as one batch).`,
      action: 'batchExecuteStatement',
      sql: sfn.JsonPath.listAt(statementPath),
      statementName: `medallion-gold-${name}-write`,
      resultPath: PATHS.statement,
      failure: failed,
    });
    return written.chain.next(
      sfn.Succeed.jsonPath(scope, `${name}-WriteBatchFinished`, {
        stateName: `${name}: write batch finished`,
      }),
    );
  }

  /**
   * Status checks and cancellations are limited to the statements the state machine's role submitted,
   * whichever of its sessions submitted them: the role's unique id, alone or followed by a session name.
   */
  public bind(stateMachine: sfn.StateMachine): void {
    const role = stateMachine.role;
    if (!(role instanceof iam.Role)) throw new Error('Redshift engine: the state machine needs its own role');
    this.bound = true;
    stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['redshift-data:DescribeStatement', 'redshift-data:CancelStatement'],
        resources: ['*'],
        conditions: {
          StringLike: { 'redshift-data:statement-owner-iam-userid': [role.roleId, `${role.roleId}:*`] },
        },
      }),
    );
    acknowledge(
      role,
      'IAM5[Resource::*]',
      'redshift-data:DescribeStatement and CancelStatement support no resource type (statement ids are not ARNs); ' +
        'they are limited by redshift-data:statement-owner-iam-userid to the statements this role submitted. ' +
        "The role's other '*' statements (tracing, logging, PutMetricData, Lake Formation) are acknowledged on the state machine.",
    );
  }

  /** A statement's states, with this engine's workgroup, database, secret and policies. */
  private statement(
    scope: Construct,
    s: {
      id: string;
      stateName: string;
      comment: string;
      action: 'executeStatement' | 'batchExecuteStatement';
      /** One statement (executeStatement); several, or a JSONPath intrinsic giving them (batch). */
      sql: string | string[];
      statementName: string;
      resultPath: string;
      idAliases?: string[];
      failure: sfn.IChainable;
    },
  ): GoldEngineStates {
    const { props } = this;
    return redshiftStatement(scope, {
      id: s.id,
      stateName: s.stateName,
      comment: s.comment,
      action: s.action,
      parameters: {
        WorkgroupName: props.workgroupName,
        Database: props.database,
        SecretArn: this.secretArn,
        ...(s.action === 'batchExecuteStatement' ? { Sqls: s.sql } : { Sql: s.sql }),
        StatementName: s.statementName,
      },
      policies: (action) => this.policies(scope, action),
      resultPath: s.resultPath,
      idAliases: s.idAliases,
      pollInterval: this.pollInterval,
      timeout: this.queryTimeout,
      failure: s.failure,
    });
  }

  /**
   * What a call needs: a submission, the workgroup, the admin secret and its key (through Secrets Manager
   * only). Status checks and cancellations are granted once, to the role, by {@link bind}.
   */
  private policies(scope: Construct, action: RedshiftDataAction): iam.PolicyStatement[] {
    if (action !== 'executeStatement' && action !== 'batchExecuteStatement') return [];
    const iamAction = action === 'executeStatement' ? 'ExecuteStatement' : 'BatchExecuteStatement';
    const policies = [
      new iam.PolicyStatement({
        actions: [`redshift-data:${iamAction}`],
        resources: [this.props.workgroupArn],
      }),
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.secretArn] }),
    ];
    if (this.secretKey) {
      policies.push(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [this.secretKey.keyArn],
          // Secrets Manager decrypts on the caller's behalf, with the secret's ARN as encryption context.
          conditions: {
            StringEquals: {
              'kms:ViaService': `secretsmanager.${Stack.of(scope).region}.amazonaws.com`,
              'kms:EncryptionContext:SecretARN': this.secretArn,
            },
          },
        }),
      );
    }
    return policies;
  }

  /** Synthesis fails if the workflow never bound this engine: its status checks would be denied. */
  private requireBinding(scope: Construct): void {
    if (REQUIRED.has(scope)) return;
    REQUIRED.add(scope);
    scope.node.addValidation({
      validate: () =>
        this.bound
          ? []
          : [
              'Redshift engine: bind() was not called with the state machine (status checks have no permission)',
            ],
    });
  }
}

/** Scopes that validate the engine's binding already. */
const REQUIRED = new WeakSet<Construct>();
