/**
 * The per-domain reader roles (LakeReaders), proven on the synthesized template with the offline IAM
 * evaluator: a domain's role reads its own silver and gold and what other domains share with it, never
 * another domain's data, bronze or quarantine only when `access` says so, queries in its own workgroup only
 * and writes nowhere but its results prefix; cdk-nag finds nothing unacknowledged.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Size, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type DatasetContract, parseContract } from '../../core/contracts/dataset-contract';
import { loadContracts } from '../../core/contracts/load-contracts';
import type { GoldModel } from '../../core/gold/models';
import { contractsDirectory } from '../../lib/config';
import {
  LakeReaders,
  type LakeReadersProps,
  readerRoleName,
  silverReadPrefixes,
} from '../../lib/lake-readers';
import { LakeStorage } from '../../lib/lake-storage';
import { logicalId, testContext } from '../support/cdk';
import { limitsBroken, stackUsage } from '../support/cfn-limits';
import { writeGeneratedContracts } from '../support/generated-contracts';
import {
  allowsAll,
  type Decision,
  evaluate,
  type PolicyStatementJson,
  renderToken,
  roleIdentityStatements,
} from '../support/iam-access';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const DB = 'medallion_test';
const WORKGROUP = 'medallion-test';

/** A small valid contract of `domain`, with `access` and optionally `deletes`. */
function contract(
  domain: string,
  dataset: string,
  access: { readers?: string[]; bronze?: boolean; quarantine?: boolean } = {},
  withDeletes = false,
): DatasetContract {
  return parseContract(
    {
      domain,
      dataset,
      source: { format: 'ndjson' },
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'at', type: 'timestamp', required: true },
        { name: 'op', type: 'string' },
      ],
      primaryKey: ['id'],
      partition: { column: 'at', granularity: 'day' },
      access,
      ...(withDeletes ? { deletes: { column: 'op', values: ['D'] } } : {}),
    },
    `${dataset}.yaml`,
  );
}

const model = (name: string, product?: { domain?: string; readers?: string[] }): GoldModel => ({
  name,
  sql: 'SELECT 1 AS x',
  dependsOn: [],
  ...(product
    ? {
        product: {
          version: '1.0.0',
          readers: product.readers ?? [],
          ...(product.domain ? { domain: product.domain } : {}),
        },
      }
    : {}),
});

// retail shares orders with finance and reads its own bronze and quarantine of orders; finance has a dataset
// with deletes; marketing owns a dataset and reads daily_sales.
const CONTRACTS = [
  contract('retail', 'orders', { readers: ['finance'], bronze: true, quarantine: true }),
  contract('retail', 'customers'),
  contract('finance', 'ledger', {}, true),
  contract('marketing', 'campaigns'),
];
const MODELS = [
  model('daily_sales', { domain: 'retail', readers: ['marketing'] }),
  model('revenue', { domain: 'finance' }),
  model('calendar'),
];

const tmp = mkdtempSync(join(tmpdir(), 'medallion-readers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

/** A stack with the lake storage and the readers, cdk-nag on; the template and cdk-nag's report. */
function build(
  props: Partial<LakeReadersProps> = {},
  contracts = CONTRACTS,
  goldModels = MODELS,
  env: typeof ENV | undefined = ENV,
) {
  runs += 1;
  const outdir = join(tmp, `run-${runs}`);
  const app = new App({ outdir, context: testContext() });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new Stack(app, 'Lake', env ? { env } : {});
  const storage = new LakeStorage(stack, 'Storage');
  const readers = new LakeReaders(stack, 'Readers', {
    contracts,
    goldModels,
    silverBucket: storage.silverBucket,
    goldBucket: storage.goldBucket,
    bronzeBucket: storage.bronzeBucket,
    quarantineBucket: storage.quarantineBucket,
    athenaResultsBucket: storage.athenaResultsBucket,
    key: storage.key,
    databaseName: DB,
    workGroupNamePrefix: WORKGROUP,
    ...props,
  });
  const t = Template.fromStack(stack);
  const report = () =>
    JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: {
        pluginName: string;
        violations: unknown[];
        suppressedViolations?: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
      }[];
    };
  const bucket = (prefix: string) => `<${logicalId(t, 'AWS::S3::Bucket', `Storage${prefix}`)}.Arn>`;
  const roleId = (domain: string) =>
    stack.getLogicalId(readers.roles.get(domain)?.node.defaultChild as iam.CfnRole);
  const statements = (domain: string) => roleIdentityStatements(t, roleId(domain));
  return { stack, readers, t, report, bucket, statements, roleId, outdir };
}

// A stack with a region resolves the partition (`aws`).
const glue = (resource: string) => `arn:aws:glue:${ENV.region}:${ENV.account}:${resource}`;
/** The ARNs a Glue GetTable of `table` is authorized against: the catalog, the database, the table. */
const tableArns = (table: string) => [glue('catalog'), glue(`database/${DB}`), glue(`table/${DB}/${table}`)];
const workGroupArn = (name: string) => `arn:aws:athena:${ENV.region}:${ENV.account}:workgroup/${name}`;

describe('LakeReaders: two-way isolation between domains', () => {
  const lake = build();
  const silver = lake.bucket('Silver');
  const gold = lake.bucket('Gold');
  const bronze = lake.bucket('Bronze');
  const quarantine = lake.bucket('Quarantine');
  const results = lake.bucket('AthenaResults');
  const can = (
    domain: string,
    action: string,
    resource: string,
    context?: Record<string, string>,
  ): Decision => evaluate(lake.statements(domain), { action, resource, context });
  const get = (domain: string, bucketArn: string, key: string) =>
    can(domain, 's3:GetObject', `${bucketArn}/${key}`);
  const list = (domain: string, bucketArn: string, prefix: string) =>
    can(domain, 's3:ListBucket', bucketArn, { 's3:prefix': prefix });
  /** An object of every silver table of a dataset: arrivals, history, current state (and deleted keys). */
  const silverKeys = (domain: string, dataset: string) => [
    `${domain}/${dataset}/dt=2026-01-01/part-abc.parquet`,
    `_history/${domain}/${dataset}/data/00000-0-x.parquet`,
    `_current/${domain}/${dataset}/metadata/00001-y.metadata.json`,
  ];

  test('one role per reader domain, named <stack>-reader-<domain>, each with a workgroup <prefix>-<domain>', () => {
    expect([...lake.readers.roles.keys()]).toEqual(['finance', 'marketing', 'retail']);
    for (const domain of ['finance', 'marketing', 'retail']) {
      lake.t.hasResourceProperties('AWS::IAM::Role', { RoleName: `Lake-reader-${domain}` });
      expect(lake.readers.workGroups.get(domain)).toBe(`${WORKGROUP}-${domain}`);
    }
    lake.t.resourceCountIs('AWS::IAM::Role', 3);
    lake.t.resourceCountIs('AWS::Athena::WorkGroup', 3);
  });

  test("retail's role reads every silver table of retail's datasets and lists their prefixes", () => {
    for (const dataset of ['orders', 'customers']) {
      for (const key of silverKeys('retail', dataset))
        expect([key, get('retail', silver, key)]).toEqual([key, 'Allow']);
      expect(list('retail', silver, `retail/${dataset}/`)).toBe('Allow');
      expect(list('retail', silver, `_current/retail/${dataset}/metadata/`)).toBe('Allow');
    }
  });

  test("retail's role can neither read nor list finance's or marketing's silver, nor silver bookkeeping", () => {
    for (const [domain, dataset] of [
      ['finance', 'ledger'],
      ['marketing', 'campaigns'],
    ]) {
      for (const key of silverKeys(domain, dataset)) expect(get('retail', silver, key)).toBe('ImplicitDeny');
      expect(get('retail', silver, `_deleted/${domain}/${dataset}/data/x.parquet`)).toBe('ImplicitDeny');
      expect(list('retail', silver, `${domain}/${dataset}/`)).toBe('ImplicitDeny');
      expect(list('retail', silver, `_history/${domain}/`)).toBe('ImplicitDeny');
    }
    expect(list('retail', silver, '')).toBe('ImplicitDeny');
    expect(can('retail', 's3:ListBucket', silver)).toBe('ImplicitDeny');
    expect(get('retail', silver, '_manifests/retail/orders/abc.json')).toBe('ImplicitDeny');
    expect(get('retail', silver, '_commits/retail/orders/x.json')).toBe('ImplicitDeny');
  });

  test("finance's role reads its own deleted-keys table and never retail's other datasets", () => {
    for (const key of [...silverKeys('finance', 'ledger'), '_deleted/finance/ledger/data/x.parquet']) {
      expect(get('finance', silver, key)).toBe('Allow');
    }
    for (const key of silverKeys('retail', 'customers'))
      expect(get('finance', silver, key)).toBe('ImplicitDeny');
    expect(list('finance', silver, 'retail/customers/')).toBe('ImplicitDeny');
  });

  test("orders (retail, access.readers [finance]) is readable by finance's role and not by marketing's", () => {
    for (const key of silverKeys('retail', 'orders')) {
      expect(get('finance', silver, key)).toBe('Allow');
      expect(get('marketing', silver, key)).toBe('ImplicitDeny');
    }
    expect(list('finance', silver, 'retail/orders/')).toBe('Allow');
    expect(list('marketing', silver, 'retail/orders/')).toBe('ImplicitDeny');
    expect(allowsAll(lake.statements('finance'), 'glue:GetTable', tableArns('orders_history'))).toBe(true);
    expect(allowsAll(lake.statements('marketing'), 'glue:GetTable', tableArns('orders'))).toBe(false);
  });

  test("access.bronze and access.quarantine grant the owning domain's role only, for that dataset only", () => {
    const bronzeKey = 'retail/orders/ingest_date=2026-01-01/abc.csv';
    expect(get('retail', bronze, bronzeKey)).toBe('Allow');
    expect(list('retail', bronze, 'retail/orders/')).toBe('Allow');
    expect(get('retail', quarantine, 'rows/retail/orders/abc.ndjson')).toBe('Allow');
    expect(get('retail', quarantine, 'files/retail/orders/abc/upload.csv')).toBe('Allow');
    expect(list('retail', quarantine, 'rows/retail/orders/')).toBe('Allow');
    // finance reads orders' silver, not its bronze or quarantine.
    expect(get('finance', bronze, bronzeKey)).toBe('ImplicitDeny');
    expect(get('finance', quarantine, 'rows/retail/orders/abc.ndjson')).toBe('ImplicitDeny');
    // customers says nothing: no one reads its bronze or quarantine, retail included.
    for (const domain of ['retail', 'finance', 'marketing']) {
      expect(get(domain, bronze, 'retail/customers/ingest_date=2026-01-01/abc.csv')).toBe('ImplicitDeny');
      expect(get(domain, quarantine, 'rows/retail/customers/abc.ndjson')).toBe('ImplicitDeny');
      expect(get(domain, quarantine, 'failed/retail/orders/abc.reason.json')).toBe('ImplicitDeny');
      expect(get(domain, quarantine, 'unknown/retail/x.csv')).toBe('ImplicitDeny');
      expect(get(domain, bronze, '_index/sha256/retail/orders/abc')).toBe('ImplicitDeny');
    }
    // Without any dataset granting it, a role has no statement on bronze or quarantine at all.
    for (const domain of ['finance', 'marketing']) {
      expect(list(domain, bronze, 'retail/orders/')).toBe('ImplicitDeny');
      const resources = lake.statements(domain).flatMap((s) => [s.Resource].flat().map(renderToken));
      expect(resources.filter((r) => r.startsWith(bronze) || r.startsWith(quarantine))).toEqual([]);
    }
  });

  test("gold: a model is read by its domain's role and its readers', a model without a domain by every role", () => {
    const version = (m: string) => `${m}/v=run-1/part-0.parquet`;
    const expected: Record<string, Record<string, Decision>> = {
      retail: { daily_sales: 'Allow', revenue: 'ImplicitDeny', calendar: 'Allow' },
      marketing: { daily_sales: 'Allow', revenue: 'ImplicitDeny', calendar: 'Allow' },
      finance: { daily_sales: 'ImplicitDeny', revenue: 'Allow', calendar: 'Allow' },
    };
    for (const [domain, models] of Object.entries(expected)) {
      for (const [m, decision] of Object.entries(models)) {
        expect([domain, m, get(domain, gold, version(m))]).toEqual([domain, m, decision]);
        expect([domain, m, list(domain, gold, `${m}/`)]).toEqual([domain, m, decision]);
        expect([domain, m, allowsAll(lake.statements(domain), 'glue:GetTable', tableArns(m))]).toEqual([
          domain,
          m,
          decision === 'Allow',
        ]);
      }
    }
    // A model whose name extends another's is another prefix.
    expect(get('finance', gold, 'revenue_eu/v=1/x.parquet')).toBe('ImplicitDeny');
  });

  test("Glue: GetTable, GetPartitions allowed on the role's own tables, denied on another domain's", () => {
    const own = lake.statements('retail');
    for (const table of ['orders', 'orders_history', 'orders_arrivals', 'customers']) {
      for (const action of ['glue:GetTable', 'glue:GetPartitions', 'glue:GetTables']) {
        expect([table, action, allowsAll(own, action, tableArns(table))]).toEqual([table, action, true]);
      }
    }
    expect(allowsAll(own, 'glue:GetDatabase', [glue('catalog'), glue(`database/${DB}`)])).toBe(true);
    for (const table of ['ledger', 'ledger_deleted', 'campaigns', 'campaigns_arrivals']) {
      expect([table, allowsAll(own, 'glue:GetTable', tableArns(table))]).toEqual([table, false]);
    }
    // Another database, and any write to the catalog.
    expect(
      allowsAll(own, 'glue:GetTable', [glue('catalog'), glue('database/other'), glue('table/other/orders')]),
    ).toBe(false);
    for (const action of [
      'glue:CreateTable',
      'glue:UpdateTable',
      'glue:DeleteTable',
      'glue:BatchCreatePartition',
    ]) {
      expect([action, allowsAll(own, action, tableArns('orders'))]).toEqual([action, false]);
    }
  });

  test("Athena: each role queries in its own workgroup only; the workgroup of retail is not usable by finance's role", () => {
    const actions = ['StartQueryExecution', 'GetQueryExecution', 'GetQueryResults', 'StopQueryExecution'];
    for (const domain of ['retail', 'finance', 'marketing']) {
      for (const other of ['retail', 'finance', 'marketing']) {
        for (const a of actions) {
          const decision = can(domain, `athena:${a}`, workGroupArn(`${WORKGROUP}-${other}`));
          expect([domain, other, a, decision]).toEqual([
            domain,
            other,
            a,
            domain === other ? 'Allow' : 'ImplicitDeny',
          ]);
        }
      }
      expect(can(domain, 'athena:StartQueryExecution', workGroupArn(WORKGROUP))).toBe('ImplicitDeny');
      expect(can(domain, 'athena:UpdateWorkGroup', workGroupArn(`${WORKGROUP}-${domain}`))).toBe(
        'ImplicitDeny',
      );
    }
  });

  test('each workgroup enforces results under readers/<domain>/ encrypted with the lake key, and a 10 GB cutoff', () => {
    const key = logicalId(lake.t, 'AWS::KMS::Key', 'StorageKey');
    const bucketId = logicalId(lake.t, 'AWS::S3::Bucket', 'StorageAthenaResults');
    for (const domain of ['retail', 'finance', 'marketing']) {
      lake.t.hasResourceProperties('AWS::Athena::WorkGroup', {
        Name: `${WORKGROUP}-${domain}`,
        State: 'ENABLED',
        WorkGroupConfiguration: {
          EnforceWorkGroupConfiguration: true,
          BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
          PublishCloudWatchMetricsEnabled: true,
          ResultConfiguration: {
            OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }, `/readers/${domain}/`]] },
            ExpectedBucketOwner: ENV.account,
            EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [key, 'Arn'] } },
          },
        },
      });
    }
  });

  test('query results: each role reads and writes its own results prefix only', () => {
    for (const domain of ['retail', 'finance', 'marketing']) {
      for (const other of ['retail', 'finance', 'marketing']) {
        const expected: Decision = domain === other ? 'Allow' : 'ImplicitDeny';
        const key = `${results}/readers/${other}/q-1.csv`;
        expect([domain, other, can(domain, 's3:PutObject', key), can(domain, 's3:GetObject', key)]).toEqual([
          domain,
          other,
          expected,
          expected,
        ]);
        expect(list(domain, results, `readers/${other}/`)).toBe(expected);
      }
      expect(can(domain, 's3:PutObject', `${results}/${WORKGROUP}/q-1.csv`)).toBe('ImplicitDeny');
      expect(can(domain, 's3:GetObject', `${results}/${WORKGROUP}/q-1.csv`)).toBe('ImplicitDeny');
    }
  });

  test('no role writes outside its results prefix: every write action of every statement is under readers/<domain>/', () => {
    const READ_ONLY =
      /^(s3:(GetObject|ListBucket|GetBucketLocation)|glue:(Get|BatchGet)\w+|athena:(Get|Start|Stop)\w+|kms:Decrypt|kms:GenerateDataKey)$/;
    for (const domain of ['retail', 'finance', 'marketing']) {
      const statements = lake.statements(domain);
      expect(statements.every((s) => s.Effect === 'Allow' && !s.NotAction && !s.NotResource)).toBe(true);
      for (const s of statements) {
        const actions = [s.Action].flat() as string[];
        expect(actions.filter((a) => a.includes('*'))).toEqual([]);
        const writes = actions.filter((a) => !READ_ONLY.test(a));
        if (writes.length === 0) continue;
        expect([domain, s.Sid, writes]).toEqual([
          domain,
          'ReadWriteItsQueryResults',
          ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'],
        ]);
        expect([s.Resource].flat().map(renderToken)).toEqual([`${results}/readers/${domain}/*`]);
      }
      // And through the evaluator: no write anywhere else in the lake.
      for (const [bucketArn, key] of [
        [silver, 'retail/orders/dt=2026-01-01/x.parquet'],
        [gold, 'daily_sales/v=1/x.parquet'],
        [bronze, 'retail/orders/ingest_date=2026-01-01/x.csv'],
        [quarantine, 'rows/retail/orders/x.ndjson'],
      ]) {
        for (const action of [
          's3:PutObject',
          's3:DeleteObject',
          's3:DeleteObjectVersion',
          's3:PutObjectAcl',
        ]) {
          expect([domain, action, key, can(domain, action, `${bucketArn}/${key}`)]).toEqual([
            domain,
            action,
            key,
            'ImplicitDeny',
          ]);
        }
      }
    }
  });

  test('the lake key: Decrypt and GenerateDataKey through S3 of the region only', () => {
    const key = `<${logicalId(lake.t, 'AWS::KMS::Key', 'StorageKey')}.Arn>`;
    const viaS3 = { 'kms:ViaService': `s3.${ENV.region}.amazonaws.com` };
    expect(can('retail', 'kms:Decrypt', key, viaS3)).toBe('Allow');
    expect(can('retail', 'kms:Decrypt', key)).toBe('ImplicitDeny');
    expect(
      can('retail', 'kms:Decrypt', key, { 'kms:ViaService': `athena.${ENV.region}.amazonaws.com` }),
    ).toBe('ImplicitDeny');
    expect(can('retail', 'kms:Encrypt', key, viaS3)).toBe('ImplicitDeny');
  });

  test('each role trusts the account root by default, for one-hour sessions', () => {
    for (const domain of ['retail', 'finance', 'marketing']) {
      const role = lake.t.findResources('AWS::IAM::Role')[lake.roleId(domain)];
      expect(role.Properties.MaxSessionDuration).toBe(3600);
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Principal: { AWS: `arn:aws:iam::${ENV.account}:root` },
        },
      ]);
    }
  });

  test('cdk-nag: no finding; only the prefix-scoped object ARNs of the readers are acknowledged', () => {
    const nag = lake.report().pluginReports.filter((r) => r.pluginName === 'AwsSolutions');
    expect(nag.flatMap((r) => r.violations)).toEqual([]);
    const acknowledged = nag.flatMap((r) => r.suppressedViolations ?? []);
    const inReaders = acknowledged.filter((s) =>
      s.violatingConstructs.some((c) => c.constructPath.startsWith('Lake/Readers')),
    );
    expect(inReaders.length).toBeGreaterThan(0);
    for (const s of inReaders) {
      expect(s.ruleName).toMatch(/^AwsSolutions-IAM5\[Resource::<Storage\w+\.Arn>\/[^*]+\/\*\]$/);
    }
  });
});

describe('LakeReaders: props', () => {
  test('per-domain principals, session length and scan cutoff', () => {
    const analyst = new iam.ArnPrincipal('arn:aws:iam::111111111111:role/finance-analyst');
    const lake = build(
      {
        principals: { finance: analyst },
        maxSessionDuration: undefined,
        bytesScannedCutoffPerQuery: Size.gibibytes(1),
      },
      [contract('retail', 'orders', { readers: ['finance'] })],
      [],
    );
    const roles = lake.t.findResources('AWS::IAM::Role');
    expect(roles[lake.roleId('finance')].Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      AWS: 'arn:aws:iam::111111111111:role/finance-analyst',
    });
    expect(JSON.stringify(roles[lake.roleId('retail')].Properties.AssumeRolePolicyDocument)).toContain(
      ':root',
    );
    lake.t.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: { BytesScannedCutoffPerQuery: 1024 ** 3 },
    });
    // No gold model: no gold statement at all.
    const goldArn = lake.bucket('Gold');
    const resources = lake.statements('finance').flatMap((s) => [s.Resource].flat().map(renderToken));
    expect(resources.filter((r) => r.startsWith(goldArn))).toEqual([]);
  });

  test("domains: only those domains' roles and workgroups, reading what every contract shares with them", () => {
    const lake = build({ domains: ['finance'] });
    expect([...lake.readers.roles.keys()]).toEqual(['finance']);
    expect([...lake.readers.workGroups.values()]).toEqual([`${WORKGROUP}-finance`]);
    lake.t.resourceCountIs('AWS::IAM::Role', 1);
    lake.t.resourceCountIs('AWS::Athena::WorkGroup', 1);
    const key = `${lake.bucket('Silver')}/_current/retail/orders/data/x.parquet`;
    expect(evaluate(lake.statements('finance'), { action: 's3:GetObject', resource: key })).toBe('Allow');
  });

  test('a role name longer than IAM’s 64 characters is cut with a hash, stable and distinct', () => {
    const stackName = 'medallion-platform-production-eu-west-1';
    const a = readerRoleName(stackName, 'customer_care_and_after_sales');
    const b = readerRoleName(stackName, 'customer_care_and_after_sales_eu');
    expect(readerRoleName('Lake', 'retail')).toBe('Lake-reader-retail');
    expect(a).toHaveLength(64);
    expect(b).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(a).toBe(readerRoleName(stackName, 'customer_care_and_after_sales'));
    expect(a.startsWith(`${stackName}-reader-customer`)).toBe(true);
  });

  test('fails synth on a principal for a domain without a role, a bad database name or a tiny cutoff', () => {
    const stack = new Stack(new App({ context: testContext() }), 'Lake', { env: ENV });
    const storage = new LakeStorage(stack, 'Storage');
    expect(
      () =>
        new LakeReaders(stack, 'Readers', {
          contracts: [contract('retail', 'orders')],
          silverBucket: storage.silverBucket,
          goldBucket: storage.goldBucket,
          bronzeBucket: storage.bronzeBucket,
          quarantineBucket: storage.quarantineBucket,
          athenaResultsBucket: storage.athenaResultsBucket,
          key: storage.key,
          databaseName: 'Bad-Name',
          workGroupNamePrefix: WORKGROUP,
          principals: { finanse: new iam.AccountRootPrincipal() },
          bytesScannedCutoffPerQuery: Size.mebibytes(1),
        }),
    ).toThrow(
      new Error(
        'invalid lake readers:\n' +
          "  - domain 'finanse' has no reader role (reader domains: retail)\n" +
          "  - database name 'Bad-Name' must be lower-case letters, digits and '_'\n" +
          '  - bytesScannedCutoffPerQuery must be at least 10000000 bytes (10 MB)',
      ),
    );
  });
});

describe('silverReadPrefixes', () => {
  const all = [
    contract('retail', 'orders'),
    contract('retail', 'customers', {}, true),
    contract('hr', 'staff'),
  ];

  test("every dataset of a domain read: the domain's prefixes (deleted keys when one has deletes)", () => {
    expect(silverReadPrefixes(all.slice(0, 2), all)).toEqual([
      'retail/',
      '_current/retail/',
      '_history/retail/',
      '_deleted/retail/',
    ]);
  });

  test("some datasets of a domain read: each one's table prefixes, nothing of the others", () => {
    expect(silverReadPrefixes([all[0], all[2]], all)).toEqual([
      'hr/',
      '_current/hr/',
      '_history/hr/',
      '_current/retail/orders/',
      '_history/retail/orders/',
      'retail/orders/',
    ]);
  });
});

describe('LakeReaders at scale: 10 domains of 30 datasets, a third of each shared with the next domain, a gold model per domain read by all', () => {
  test('every role and policy fits IAM and CloudFormation limits, cdk-nag clean', () => {
    const generated = mkdtempSync(join(tmp, 'contracts-'));
    writeGeneratedContracts(generated, { domains: 10, perDomain: 30 });
    const domains = [...new Set(loadContracts(generated).map((c) => c.domain))].sort();
    const contracts = loadContracts(generated).map((c, i) =>
      i % 3 === 0
        ? {
            ...c,
            access: { ...c.access, readers: [domains[(domains.indexOf(c.domain) + 1) % domains.length]] },
          }
        : c,
    );
    const models = domains.map((d) => model(`${d}_summary`, { domain: d, readers: domains }));
    // Environment-agnostic: the ARNs' account, region and partition are measured at their longest.
    const lake = build({}, contracts, models, undefined);
    expect(lake.readers.roles.size).toBe(10);
    const usage = stackUsage('Lake', join(lake.outdir, 'Lake.template.json'));
    expect(limitsBroken(usage)).toEqual([]);
    expect(
      lake.report().pluginReports.flatMap((r) => (r.pluginName === 'AwsSolutions' ? r.violations : [])),
    ).toEqual([]);
    // A shared dataset is still read by its reader and not by a third domain.
    const shared = contracts.find((c) => c.access.readers.length > 0) as DatasetContract;
    const reader = shared.access.readers[0];
    const third = domains.find((d) => d !== reader && d !== shared.domain) as string;
    const key = `${lake.bucket('Silver')}/_current/${shared.id}/data/x.parquet`;
    expect(evaluate(lake.statements(reader), { action: 's3:GetObject', resource: key })).toBe('Allow');
    expect(evaluate(lake.statements(third), { action: 's3:GetObject', resource: key })).toBe('ImplicitDeny');
  });
});

describe('LakeReaders on the sample contracts', () => {
  const samples = loadContracts(contractsDirectory({ contractsDir: 'samples/contracts' }));
  const lake = build({}, samples, []);
  const silver = lake.bucket('Silver');
  const get = (domain: string, key: string) =>
    evaluate(lake.statements(domain) as PolicyStatementJson[], {
      action: 's3:GetObject',
      resource: `${silver}/${key}`,
    });

  test('roles retail and finance; finance reads orders and nothing else of retail', () => {
    expect([...lake.readers.roles.keys()]).toEqual(['finance', 'retail']);
    for (const dataset of ['orders', 'customers', 'products']) {
      expect(get('retail', `retail/${dataset}/dt=2026-01-01/x.parquet`)).toBe('Allow');
      expect(get('finance', `retail/${dataset}/dt=2026-01-01/x.parquet`)).toBe(
        dataset === 'orders' ? 'Allow' : 'ImplicitDeny',
      );
      expect(get('finance', `_current/retail/${dataset}/data/x.parquet`)).toBe(
        dataset === 'orders' ? 'Allow' : 'ImplicitDeny',
      );
    }
    const finance = lake.statements('finance');
    expect(allowsAll(finance, 'glue:GetTable', tableArns('orders'))).toBe(true);
    expect(allowsAll(finance, 'glue:GetTable', tableArns('customers'))).toBe(false);
    const nag = lake.report().pluginReports.filter((r) => r.pluginName === 'AwsSolutions');
    expect(nag.flatMap((r) => r.violations)).toEqual([]);
  });
});
