/**
 * The role Redshift Serverless runs Spectrum, COPY and UNLOAD as: it reads one Glue database and the given
 * silver prefixes, writes the given gold prefixes, and uses the lake key only through S3.
 *
 * Sources (AWS documentation):
 * - "Granting permissions to Amazon Redshift Serverless" (serverless-security-other-services): the role
 *   trusts redshift-serverless.amazonaws.com and redshift.amazonaws.com.
 * - "IAM policies for Amazon Redshift Spectrum": the Glue read actions (with glue:BatchGetPartition) and
 *   s3:GetBucketLocation.
 *
 * Gold models that read other gold models read them through Spectrum too (the published Glue tables):
 * the Redshift engine adds those prefixes with {@link allowGoldReads}, model by model.
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge, acknowledgePrefixScopedObjectArns } from '../nag';

/** Properties of {@link createSpectrumRole}: what the role may read and write. */
export interface RedshiftSpectrumRoleProps {
  /** The silver bucket Spectrum reads. */
  readonly silverBucket: s3.IBucket;
  /** Silver key prefixes Spectrum may read (`retail/orders/`), each ending with '/'. */
  readonly silverPrefixes: readonly string[];
  /** The gold bucket models are UNLOADed to. */
  readonly goldBucket: s3.IBucket;
  /** Gold key prefixes UNLOAD may write and clean (`daily_sales/`), each ending with '/'. */
  readonly goldPrefixes: readonly string[];
  /** The Glue database whose tables Spectrum reads (the only one the role may read). */
  readonly database: string;
  /** The lake key: encrypts silver and gold (Spectrum decrypts, UNLOAD encrypts through S3). */
  readonly key: kms.IKey;
}

const PREFIX = /^[A-Za-z0-9_=.\-/]+\/$/;
const GLUE_DATABASE = /^[a-z0-9_]{1,255}$/;

/** What is wrong with `props` (empty when nothing is): a database name or key prefix IAM cannot scope. */
export function spectrumRoleProblems(props: RedshiftSpectrumRoleProps): string[] {
  const problems: string[] = [];
  if (!GLUE_DATABASE.test(props.database)) problems.push(`invalid Glue database name '${props.database}'`);
  for (const [what, prefixes] of [
    ['silverPrefixes', props.silverPrefixes],
    ['goldPrefixes', props.goldPrefixes],
  ] as const) {
    if (prefixes.length === 0) problems.push(`${what} must name at least one prefix`);
    for (const p of prefixes) {
      if (!PREFIX.test(p))
        problems.push(`${what}: '${p}' must be a key prefix ending with '/' (no wildcard)`);
    }
  }
  return problems;
}

/**
 * Creates the role as `SpectrumRole` directly in `scope` (so its logical id stays that of the gold
 * construct's role), with its statements and the cdk-nag acknowledgements of its reviewed wildcards.
 */
export function createSpectrumRole(scope: Construct, props: RedshiftSpectrumRoleProps): iam.Role {
  const role = new iam.Role(scope, 'SpectrumRole', {
    description: 'Redshift Serverless gold: Spectrum reads of silver, UNLOAD of gold',
    assumedBy: new iam.CompositePrincipal(
      new iam.ServicePrincipal('redshift-serverless.amazonaws.com'),
      new iam.ServicePrincipal('redshift.amazonaws.com'),
    ),
  });
  const glue = `arn:${Aws.PARTITION}:glue:${Aws.REGION}:${Aws.ACCOUNT_ID}`;
  const objects = (bucket: s3.IBucket, prefixes: readonly string[]) =>
    prefixes.map((p) => bucket.arnForObjects(`${p}*`));
  const under = (prefixes: readonly string[]) => ({
    StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) },
  });
  const { silverBucket: silver, goldBucket: gold, silverPrefixes, goldPrefixes } = props;
  const statements: [string, string[], string[], Record<string, unknown>?][] = [
    [
      'ReadTheCatalogDatabase',
      ['GetDatabase', 'GetDatabases', 'GetTable', 'GetTables', 'GetPartition', 'GetPartitions']
        .map((a) => `glue:${a}`)
        .concat('glue:BatchGetPartition'),
      [`${glue}:catalog`, `${glue}:database/${props.database}`, `${glue}:table/${props.database}/*`],
    ],
    ['ReadSilverPrefixes', ['s3:GetObject'], objects(silver, silverPrefixes)],
    ['ListSilverPrefixes', ['s3:ListBucket'], [silver.bucketArn], under(silverPrefixes)],
    [
      'UnloadToGoldPrefixes',
      ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
      objects(gold, goldPrefixes),
    ],
    ['ListGoldPrefixes', ['s3:ListBucket'], [gold.bucketArn], under(goldPrefixes)],
    ['LocateTheBuckets', ['s3:GetBucketLocation'], [silver.bucketArn, gold.bucketArn]],
    // Only through S3 (SSE-KMS objects): never a direct call with the lake key.
    [
      'UseTheLakeKeyThroughS3',
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      [props.key.keyArn],
      { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
    ],
  ];
  for (const [sid, actions, resources, conditions] of statements) {
    role.addToPolicy(new iam.PolicyStatement({ sid, actions, resources, conditions }));
  }
  acknowledgePrefixScopedObjectArns(role);
  acknowledge(
    role,
    `IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${props.database}/*]`,
    'Spectrum reads the tables of one Glue database, whichever the datasets and models add to it: a ' +
      'database is the narrowest scope that does not need a deploy per new table.',
  );
  return role;
}

/** The gold-read statement of each role, grown as models add the prefixes they read. */
const GOLD_READS = new WeakMap<iam.IRole, iam.PolicyStatement>();

/**
 * Lets the Spectrum `role` read the gold tables under `prefixes` of `goldBucket` (`s3:GetObject`, one
 * statement `ReadGoldDependencies` for all of them): a model reading a published gold table reads its
 * files through Spectrum. Listing them is the role's already (`ListGoldPrefixes`, every gold prefix).
 */
export function allowGoldReads(role: iam.IRole, goldBucket: s3.IBucket, prefixes: readonly string[]): void {
  if (prefixes.length === 0) return;
  const resources = prefixes.map((p) => goldBucket.arnForObjects(`${p}*`));
  const existing = GOLD_READS.get(role);
  if (existing) {
    const known = new Set(existing.resources);
    existing.addResources(...resources.filter((r) => !known.has(r)));
    return;
  }
  const statement = new iam.PolicyStatement({
    sid: 'ReadGoldDependencies',
    actions: ['s3:GetObject'],
    resources,
  });
  GOLD_READS.set(role, statement);
  role.addToPrincipalPolicy(statement);
}
