/**
 * Per-domain reader roles: each domain gets one IAM role that reads its own data products (and those other
 * domains share with it) in silver and gold, through its own Athena workgroup, and nothing else.
 *
 * What a domain's role reads is derived from the data products (`core/contracts/data-product.ts`):
 * - silver: every table (current state, history, arrivals, deleted keys) of the datasets of the domain and
 *   of the datasets whose `access.readers` name it;
 * - gold: the models whose `product.domain` is the domain or whose `product.readers` name it, and the models
 *   without a domain (no one owns them, so every reader role reads them);
 * - bronze and quarantine (rejected rows and files): of the domain's own datasets only, and only those whose
 *   `access.bronze` / `access.quarantine` say so. The dead-letter reasons (`failed/`) are the operators'.
 *
 * IAM semantics the statements rely on (AWS documentation):
 * - S3 ListBucket limited by the `s3:prefix` condition key (StringLike `<prefix>*`):
 *   https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html and
 *   https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * - Athena reads the tables' objects and writes its results with the caller's credentials (GetObject,
 *   ListBucket, GetBucketLocation on the data; PutObject, GetObject, AbortMultipartUpload,
 *   ListMultipartUploadParts on the results location): https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html
 * - Athena actions scoped to a workgroup ARN `arn:<partition>:athena:<region>:<account>:workgroup/<name>`:
 *   https://docs.aws.amazon.com/athena/latest/ug/example-policies-workgroup.html
 * - Glue Data Catalog resource-level permissions: a table read needs the catalog, the database and the table
 *   ARNs (https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html,
 *   https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html); GetTables
 *   returns only the tables the caller may read, and partitions have no ARN of their own (the table's
 *   permission covers them): https://docs.aws.amazon.com/glue/latest/dg/security_iam_id-based-policy-examples.html
 * - the lake key usable through S3 only (`kms:ViaService`):
 *   https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
 *   GenerateDataKey is needed to write the SSE-KMS query results (https://docs.aws.amazon.com/athena/latest/ug/encryption.html);
 *   S3 only calls it for a PutObject the role is allowed, i.e. under its results prefix.
 */
import { createHash } from 'node:crypto';
import { Duration, Size, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DatasetContract } from '../core/contracts/dataset-contract';
import type { GoldModel } from '../core/gold/models';
import { datasetPrefixes, domainPrefix, goldModelPrefix } from '../core/lake/layout';
import { silverTableLocations } from './data-catalog';
import { grantLakeKeyViaS3 } from './lake-access';
import { lakeWorkGroup } from './lake-workgroup';
import { acknowledgePrefixScopedObjectArns } from './nag';
import { attachPacked, bucketArn, objectsArn, type StatementSpec, stackArn } from './policy-packing';

/** Properties of {@link LakeReaders}. */
export interface LakeReadersProps {
  /** The validated data contracts: their domains and `access` decide who reads which dataset. */
  readonly contracts: readonly DatasetContract[];
  /**
   * The gold models: their `product.domain` and `product.readers` decide who reads which gold table.
   * @default [] - no gold table is readable
   */
  readonly goldModels?: readonly GoldModel[];
  readonly silverBucket: s3.IBucket;
  readonly goldBucket: s3.IBucket;
  /** Read only by the roles of domains whose datasets say `access.bronze: true`. */
  readonly bronzeBucket: s3.IBucket;
  /** Read only by the roles of domains whose datasets say `access.quarantine: true`. */
  readonly quarantineBucket: s3.IBucket;
  /** Each reader workgroup writes its results under `readers/<domain>/` of this bucket. */
  readonly athenaResultsBucket: s3.IBucket;
  /** The lake key: the roles decrypt the lake through S3 with it; the results are encrypted with it. */
  readonly key: kms.IKey;
  /** The Glue database of the silver and gold tables (`DataCatalog.databaseName`). */
  readonly databaseName: string;
  /** The reader workgroups are named `<workGroupNamePrefix>-<domain>` (e.g. the lake's workgroup name). */
  readonly workGroupNamePrefix: string;
  /**
   * Who may assume each domain's reader role, by domain. A domain not listed here gets the account root
   * principal: any IAM principal of this account that the account's administrators allow to call
   * `sts:AssumeRole` on the role (the trust policy delegates to the account's IAM policies; nobody outside
   * the account). Naming a domain that has no reader role fails synth.
   * @default {} - every role trusts the account root
   */
  readonly principals?: Readonly<Record<string, iam.IPrincipal>>;
  /**
   * Create the roles and workgroups of these reader domains only (what each reads still follows every
   * contract and model): e.g. each domain's in its own stack, so that a stack grows with one domain's data
   * products. Naming a domain that has no reader role fails synth.
   * @default - every reader domain
   */
  readonly domains?: readonly string[];
  /**
   * How long a session of a reader role lasts (IAM: 1 to 12 hours).
   * @default Duration.hours(1)
   */
  readonly maxSessionDuration?: Duration;
  /**
   * The roles are named `<namePrefix>-reader-<domain>`.
   * @default - the stack's name
   */
  readonly namePrefix?: string;
  /**
   * A query of a reader workgroup that scans more than this is cancelled (Athena's minimum is 10 MB).
   * @default Size.gibibytes(10)
   */
  readonly bytesScannedCutoffPerQuery?: Size;
}

/** What one domain's reader role may read. */
export interface ReaderAccess {
  /** Datasets whose silver tables it reads: its own, and those whose `access.readers` name it. */
  readonly silver: readonly DatasetContract[];
  /** Its own datasets with `access.bronze`. */
  readonly bronze: readonly DatasetContract[];
  /** Its own datasets with `access.quarantine`. */
  readonly quarantine: readonly DatasetContract[];
  /** Gold models it reads: its own, those whose `product.readers` name it, and those with no domain. */
  readonly gold: readonly GoldModel[];
}

/** Where each reader workgroup writes its results, in the athena-results bucket. */
export const READER_RESULTS_ROOT = 'readers/';

/** The results prefix of a domain's reader workgroup: `readers/<domain>/`. */
export function readerResultsPrefix(domain: string): string {
  return `${READER_RESULTS_ROOT}${domain}/`;
}

/**
 * Every reader domain (each domain of a contract or a gold model, and each domain named as a reader), sorted,
 * with what its role reads.
 */
export function readerAccess(
  contracts: readonly DatasetContract[],
  goldModels: readonly GoldModel[] = [],
): ReadonlyMap<string, ReaderAccess> {
  const domains = new Set<string>([
    ...contracts.flatMap((c) => [c.domain, ...c.access.readers]),
    ...goldModels.flatMap((m) => [
      ...(m.product?.domain ? [m.product.domain] : []),
      ...(m.product?.readers ?? []),
    ]),
  ]);
  const access = new Map<string, ReaderAccess>();
  for (const domain of [...domains].sort()) {
    const own = contracts.filter((c) => c.domain === domain);
    access.set(domain, {
      silver: contracts.filter((c) => c.domain === domain || c.access.readers.includes(domain)),
      bronze: own.filter((c) => c.access.bronze),
      quarantine: own.filter((c) => c.access.quarantine),
      gold: goldModels.filter(
        (m) => !m.product?.domain || m.product.domain === domain || m.product.readers.includes(domain),
      ),
    });
  }
  return access;
}

/** IAM's limit on a role name. */
const MAX_ROLE_NAME = 64;

/**
 * `<stack name>-reader-<domain>`; past IAM's 64 characters, its first 55 then `-` and 8 hex digits of its
 * SHA-256, so two long names that share a beginning stay distinct and a name never changes between synths.
 */
export function readerRoleName(stackName: string, domain: string): string {
  const name = `${stackName}-reader-${domain}`;
  if (name.length <= MAX_ROLE_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_ROLE_NAME - hash.length - 1)}-${hash}`;
}

const DOMAIN = /^[a-z][a-z0-9_]{0,62}$/;
const DATABASE_NAME = /^[a-z][a-z0-9_]{0,254}$/;
const WORKGROUP_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Athena refuses a smaller per-query cutoff. */
const MIN_CUTOFF_BYTES = 10_000_000;

/**
 * One IAM role and one Athena workgroup per reader domain (see the module's comment for what each reads).
 *
 * Each role `<stack name>-reader-<domain>` may:
 * - `s3:GetObject` on the silver prefixes of its datasets' tables (a domain's prefixes when it reads all of
 *   that domain's datasets, see {@link silverReadPrefixes}), the gold prefixes of its models and, when
 *   `access` says so, the bronze and quarantine prefixes of its own datasets; `s3:ListBucket` on each of
 *   those buckets limited to the same prefixes (`s3:prefix`); `s3:GetBucketLocation` on them;
 * - `glue:GetDatabase`, `GetTable(s)`, `GetPartition(s)`, `BatchGetPartition` on the catalog, the database
 *   and exactly the tables of those datasets and models;
 * - `athena:StartQueryExecution`, `GetQueryExecution`, `GetQueryResults`, `StopQueryExecution` and
 *   `GetWorkGroup` (the console reads the workgroup's settings) on its own workgroup only;
 * - read and write objects under `readers/<domain>/` of the athena-results bucket (its query results), the
 *   only place it can write;
 * - use the lake key through S3 only.
 *
 * Each workgroup `<workGroupNamePrefix>-<domain>` enforces its configuration: results under
 * `readers/<domain>/` encrypted with the lake key (SSE-KMS), the per-query scan cutoff, CloudWatch metrics.
 *
 * A role's statements are packed into an inline policy and managed policies sized for IAM's limits
 * (`policy-packing.ts`): the Glue statement names every table, so it grows with the datasets read. Synth
 * fails if a role would need more than IAM's default 10 managed policies.
 */
export class LakeReaders extends Construct {
  /** The reader role of each domain, by domain. */
  public readonly roles: ReadonlyMap<string, iam.Role>;
  /** The Athena workgroup name of each domain's readers, by domain. */
  public readonly workGroups: ReadonlyMap<string, string>;
  /** What each domain's role reads, by domain. */
  public readonly access: ReadonlyMap<string, ReaderAccess>;

  constructor(scope: Construct, id: string, props: LakeReadersProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const all = readerAccess(props.contracts, props.goldModels ?? []);
    const cutoff = (props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10)).toBytes();
    const principals = props.principals ?? {};
    validate(props, [...all.keys()], cutoff);
    const only = props.domains ? new Set(props.domains) : undefined;
    this.access = new Map([...all].filter(([domain]) => !only || only.has(domain)));

    const roles = new Map<string, iam.Role>();
    const workGroups = new Map<string, string>();
    for (const [domain, reads] of this.access) {
      const workGroupName = `${props.workGroupNamePrefix}-${domain}`;
      const role = new iam.Role(this, `Reader-${domain}`, {
        roleName: readerRoleName(props.namePrefix ?? stack.stackName, domain),
        description: `medallion: reads the silver and gold data products of the ${domain} domain`,
        assumedBy: principals[domain] ?? new iam.AccountRootPrincipal(),
        maxSessionDuration: props.maxSessionDuration ?? Duration.hours(1),
      });
      this.createWorkGroup(props, domain, workGroupName, cutoff);
      // The statements that grow with the datasets and models read are packed into policies that IAM
      // accepts; the key's goes into the role's default policy (lake-access's helper).
      attachPacked(role, 'Reads', [
        ...this.readStatements(props, reads),
        ...this.queryStatements(props, domain, workGroupName),
      ]);
      grantLakeKeyViaS3(role, props.key);
      roles.set(domain, role);
      workGroups.set(domain, workGroupName);
    }
    this.roles = roles;
    this.workGroups = workGroups;
    // Object ARNs `<bucket>/<fixed prefix>/*` only: any other wildcard still fails synth.
    acknowledgePrefixScopedObjectArns(this);
  }

  /** The S3 and Glue reads of one role. */
  private readStatements(props: LakeReadersProps, reads: ReaderAccess): StatementSpec[] {
    const perBucket: [string, s3.IBucket, string[]][] = [
      ['Silver', props.silverBucket, silverReadPrefixes(reads.silver, props.contracts)],
      ['Gold', props.goldBucket, reads.gold.map((m) => goldModelPrefix(m.name))],
      ['Bronze', props.bronzeBucket, reads.bronze.map(datasetPrefixes.data)],
      [
        'Quarantine',
        props.quarantineBucket,
        reads.quarantine.flatMap((c) => [
          datasetPrefixes.quarantineRows(c),
          datasetPrefixes.quarantineFiles(c),
        ]),
      ],
    ];
    const statements: StatementSpec[] = [];
    const located: s3.IBucket[] = [props.athenaResultsBucket];
    for (const [layer, bucket, prefixes] of perBucket) {
      if (prefixes.length === 0) continue;
      statements.push(
        ...prefixStatements(bucket, ['s3:GetObject'], prefixes, [`Read${layer}`, `List${layer}`]),
      );
      located.push(bucket);
    }
    statements.push({
      sid: 'LocateTheBuckets',
      actions: ['s3:GetBucketLocation'],
      resources: located.map(bucketArn),
    });

    // A GetTable is authorized against the catalog, the database and the table: the catalog and the
    // database first, so they stay in the first statement when the tables are split over several.
    const stack = Stack.of(this);
    const db = props.databaseName;
    const tables = new Set([
      ...reads.silver.flatMap((c) => silverTableLocations(c).map((t) => t.name)),
      ...reads.gold.map((m) => m.name),
    ]);
    statements.push({
      sid: 'ReadTheCatalog',
      actions: [
        'glue:GetDatabase',
        'glue:GetTable',
        'glue:GetTables',
        'glue:GetPartition',
        'glue:GetPartitions',
        'glue:BatchGetPartition',
      ],
      resources: [
        stackArn(stack, { service: 'glue', resource: 'catalog' }),
        stackArn(stack, { service: 'glue', resource: 'database', resourceName: db }),
        ...[...tables].map((t) =>
          stackArn(stack, { service: 'glue', resource: 'table', resourceName: `${db}/${t}` }),
        ),
      ],
    });
    return statements;
  }

  /** The role's use of its workgroup and of its results prefix. */
  private queryStatements(props: LakeReadersProps, domain: string, workGroupName: string): StatementSpec[] {
    const stack = Stack.of(this);
    return [
      {
        sid: 'QueryInItsWorkGroup',
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
          'athena:GetWorkGroup',
        ],
        resources: [
          stackArn(stack, { service: 'athena', resource: 'workgroup', resourceName: workGroupName }),
        ],
      },
      ...prefixStatements(
        props.athenaResultsBucket,
        ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        [readerResultsPrefix(domain)],
        ['ReadWriteItsQueryResults', 'ListItsQueryResults'],
      ),
    ];
  }

  /** The domain's workgroup: results under `readers/<domain>/`, encrypted with the lake key, enforced. */
  private createWorkGroup(
    props: LakeReadersProps,
    domain: string,
    workGroupName: string,
    cutoff: number,
  ): void {
    lakeWorkGroup(this, `WorkGroup-${domain}`, {
      name: workGroupName,
      description: `medallion: queries of the ${domain} domain's readers, results encrypted with the lake key`,
      resultsBucket: props.athenaResultsBucket,
      resultsPrefix: readerResultsPrefix(domain),
      key: props.key,
      account: Stack.of(this).account,
      bytesScannedCutoffPerQuery: cutoff,
    });
  }
}

/**
 * `actions` on the objects under `prefixes` of `bucket`, and ListBucket on the bucket limited to the same
 * prefixes (StringLike `s3:prefix` `<prefix>*`), with the sids given.
 */
function prefixStatements(
  bucket: s3.IBucket,
  actions: string[],
  prefixes: readonly string[],
  [objectsSid, listSid]: [string, string],
): StatementSpec[] {
  const unique = [...new Set(prefixes)];
  return [
    { sid: objectsSid, actions, resources: unique.map((p) => objectsArn(bucket, p)) },
    {
      sid: listSid,
      actions: ['s3:ListBucket'],
      resources: [bucketArn(bucket)],
      condition: { operator: 'StringLike', key: 's3:prefix', values: unique.map((p) => `${p}*`) },
    },
  ];
}

/**
 * The silver prefixes holding the tables of the datasets `read`, out of `all` the contracts. A domain all
 * of whose datasets are read is granted by its domain prefixes (`<domain>/`, `_current/<domain>/`,
 * `_history/<domain>/`, and `_deleted/<domain>/` when one of them has deletes): the same objects, in 3 or
 * 4 ARNs instead of 3 or 4 per dataset. Other domains' datasets by their own tables' prefixes.
 */
export function silverReadPrefixes(
  read: readonly DatasetContract[],
  all: readonly DatasetContract[],
): string[] {
  const prefixes: string[] = [];
  for (const domain of [...new Set(read.map((c) => c.domain))].sort()) {
    const ofDomain = all.filter((c) => c.domain === domain);
    const readOfDomain = read.filter((c) => c.domain === domain);
    const tablePrefixes = readOfDomain.flatMap((c) => silverTableLocations(c).map((t) => t.prefix));
    if (readOfDomain.length < ofDomain.length) {
      prefixes.push(...tablePrefixes);
      continue;
    }
    const kinds = [datasetPrefixes.data, datasetPrefixes.currentState, datasetPrefixes.history];
    if (ofDomain.some((c) => c.deletes)) kinds.push(datasetPrefixes.deletedKeys);
    const whole = kinds.map((kind) => domainPrefix(kind, domain));
    // The layout and the catalog's table locations must agree: a table outside its domain's prefixes
    // would silently become unreadable.
    const outside = tablePrefixes.filter((t) => !whole.some((w) => t.startsWith(w)));
    if (outside.length > 0) {
      throw new Error(`silver tables outside the prefixes of domain '${domain}': ${outside.join(', ')}`);
    }
    prefixes.push(...whole);
  }
  return prefixes;
}

/** Fails synth, naming every problem, on names IAM, Glue or Athena would refuse or could not scope. */
function validate(props: LakeReadersProps, domains: string[], cutoff: number): void {
  const problems: string[] = [];
  for (const d of domains) {
    if (!DOMAIN.test(d)) problems.push(`reader domain '${d}' must be lower-case letters, digits and '_'`);
    const workGroup = `${props.workGroupNamePrefix}-${d}`;
    if (!WORKGROUP_NAME.test(workGroup)) {
      problems.push(`workgroup name '${workGroup}' must be letters, digits, '.', '_' and '-' (max 128)`);
    }
  }
  for (const d of [...Object.keys(props.principals ?? {}), ...(props.domains ?? [])]) {
    if (!domains.includes(d)) {
      problems.push(`domain '${d}' has no reader role (reader domains: ${domains.join(', ')})`);
    }
  }
  if (!Token.isUnresolved(props.databaseName) && !DATABASE_NAME.test(props.databaseName)) {
    problems.push(`database name '${props.databaseName}' must be lower-case letters, digits and '_'`);
  }
  if (!Number.isInteger(cutoff) || cutoff < MIN_CUTOFF_BYTES) {
    problems.push(`bytesScannedCutoffPerQuery must be at least ${MIN_CUTOFF_BYTES} bytes (10 MB)`);
  }
  if (problems.length > 0) throw new Error(`invalid lake readers:\n  - ${problems.join('\n  - ')}`);
}
