import { join } from 'node:path';
import { parseContract } from '../../../core/contracts/dataset-contract';
import { loadContracts } from '../../../core/contracts/load-contracts';
import { CurrentStatePlanner } from '../../../lib/current-state';
import { asArray, definitionOf, identityStatements, type Statement } from '../../support/cdk';
import { build, DATABASE, type State, WORKGROUP } from '../../support/cdk-gold-workflow';

const SAMPLES = join(__dirname, '..', '..', '..', 'samples', 'contracts');
/** The sample contracts, plus one with deletes. */
const contracts = [
  ...loadContracts(SAMPLES),
  parseContract(
    {
      domain: 'bank',
      dataset: 'accounts',
      source: { format: 'csv' },
      columns: [
        { name: 'id', type: 'string', required: true },
        { name: 'op', type: 'string' },
        { name: 'day', type: 'date', required: true },
      ],
      primaryKey: ['id'],
      deletes: { column: 'op', values: ['D'] },
      partition: { column: 'day' },
    },
    'accounts.yaml',
  ),
];

const t = build((stack, storage) => {
  const planner = new CurrentStatePlanner(stack, 'CurrentState', {
    contracts,
    contractsDir: SAMPLES,
    silverBucket: storage.silverBucket,
    key: storage.key,
  });
  return { currentState: { planner: planner.function, contracts } };
}).template();
const definition = definitionOf(t);
/** The statements of the role whose logical id starts with `prefix`, flattened to [action, resource]. */
const grants = (prefix: string): [string, string][] =>
  identityStatements(t)
    .filter(({ resource }) => resource.startsWith(prefix))
    .flatMap(({ statement }: { statement: Statement }) =>
      asArray(statement.Action).flatMap((a: string) =>
        asArray(statement.Resource).map((r: unknown) => [a, JSON.stringify(r)] as [string, string]),
      ),
    );

describe('the current-state stage of the gold workflow', () => {
  it('runs first, once the run knows it is alone: every dataset is merged before the first wave of models', () => {
    expect(definition.States[definition.StartAt].Next).toBe('single flight: running executions');
    expect(definition.States['single flight: alone?'].Default).toBe('current state: datasets');
    expect(definition.States['current state: datasets'].Result).toEqual({
      datasets: ['customers', 'orders', 'products', 'accounts'],
    });
    expect(definition.States['current state: datasets'].Next).toBe('current state');
    expect(definition.States['current state'].Next).toBe('wave 1');
  });

  it('per dataset: tables, plan, the statements one at a time, commit, and again while the plan says more', () => {
    const map = definition.States['current state'];
    expect(map.Type).toBe('Map');
    expect(map.MaxConcurrency).toBe(4);
    expect(map.ItemsPath).toBe('$.currentState.datasets');
    const states: Record<string, State> = map.ItemProcessor.States;
    expect(map.ItemProcessor.StartAt).toBe('current state: tables');
    const tables = states['current state: tables'];
    expect(tables.Resource).toBe('arn:aws:states:::aws-sdk:glue:getTables');
    // Every Iceberg table of the dataset: the planner creates (and rebuilds) the ones missing.
    expect(tables.Parameters['Expression.$']).toBe(
      "States.Format('^({}|{}_history|{}_deleted)$', $.dataset, $.dataset, $.dataset)",
    );
    expect(tables.Next).toBe('current state: plan');
    const plan = states['current state: plan'];
    expect(plan.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(plan.Parameters.Payload).toEqual({
      action: 'plan',
      'dataset.$': '$.dataset',
      'tables.$': '$.catalog.tables',
    });
    const merge = states['current state: merge'];
    expect(merge).toMatchObject({ Type: 'Map', MaxConcurrency: 1, ItemsPath: '$.plan.statements' });
    const query = merge.ItemProcessor.States['current state: MERGE INTO'];
    expect(query.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
    expect(query.Parameters).toMatchObject({
      'QueryString.$': '$.statement',
      QueryExecutionContext: { Database: DATABASE },
      WorkGroup: WORKGROUP,
    });
    expect(merge.Next).toBe('current state: commit');
    expect(states['current state: commit'].Parameters.Payload).toEqual({
      action: 'commit',
      'dataset.$': '$.dataset',
      'next.$': '$.plan.next',
    });
    expect(states['current state: more?'].Choices).toEqual([
      { Variable: '$.plan.more', BooleanEquals: true, Next: 'current state: tables' },
    ]);
  });

  it('a failure alarms and fails the execution before any model runs', () => {
    const map = definition.States['current state'];
    expect(map.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'current state: alarm' },
    ]);
    expect(definition.States['current state: alarm'].Resource).toBe('arn:aws:states:::sns:publish');
    expect(definition.States['current state: failed']).toMatchObject({
      Type: 'Fail',
      Error: 'CurrentStateFailed',
    });
  });

  it("the workflow creates and alters tables of the lake's database only, and writes only under its domains' Iceberg locations", () => {
    const role = grants('GoldStateMachineRole');
    const on = (action: string) => role.filter(([a]) => a === action).map(([, r]) => r);
    const tablesOf = (action: string) =>
      on(action)
        .map((r) => /table\/([a-z_]+\/[a-z_*]+)/.exec(r)?.[1])
        .filter((x) => x !== undefined);
    // Table names carry no domain: the database's tables (per-table ARNs grow ~0.5 KB per dataset).
    expect(tablesOf('glue:CreateTable')).toEqual(['medallion_test/*']);
    expect(tablesOf('glue:UpdateTable')).toContain('medallion_test/*');
    expect(tablesOf('glue:GetTable')).toContain('medallion_test/*');
    const silverWrites = on('s3:PutObject').filter((r) => r.includes('StorageSilver'));
    expect(silverWrites.every((r) => /"\/_(history|current|deleted)\/[a-z]+\/\*"/.test(r))).toBe(true);
    const domainsOf = (rs: string[], root: string) =>
      rs
        .map((r) => new RegExp(`"/${root}/([a-z]+)/\\*"`).exec(r)?.[1])
        .filter((x) => x !== undefined)
        .sort();
    // MERGE, OPTIMIZE and VACUUM write, read back and delete the files under each Iceberg table's location:
    // the prefixes of the contracts' domains, one each.
    for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject']) {
      for (const root of ['_history', '_current', '_deleted'])
        expect(domainsOf(on(action), root)).toEqual(['bank', 'retail']);
    }
    expect(on('s3:DeleteObject').every((r) => /_(history|current|deleted)\//.test(r))).toBe(true);
    // The arrivals (<domain>/<dataset>/) are read, never written nor deleted (their lifecycle expires them).
    const arrivals = (rs: string[]) => rs.filter((r) => /"\/(bank|retail)\/\*"/.test(r));
    expect(arrivals(on('s3:GetObject'))).toHaveLength(2);
    expect(arrivals(on('s3:PutObject'))).toEqual([]);
    expect(arrivals(on('s3:DeleteObject'))).toEqual([]);
    // What Athena checks with the caller's permissions for Iceberg tables, per AWS's Step Functions docs.
    expect(on('athena:GetDataCatalog')).toHaveLength(1);
    expect(on('athena:GetDataCatalog')[0]).toContain('datacatalog/AwsDataCatalog');
    expect(on('lakeformation:GetDataAccess')).toEqual(['"*"']);
    expect(on('glue:GetTables').some((r) => r.includes('table/medallion_test/*'))).toBe(true);
    expect(on('lambda:InvokeFunction').every((r) => r.includes('CurrentStatePlanner'))).toBe(true);
  });

  it('the planner reads the commit logs, reads and writes the watermarks, and nothing else in silver', () => {
    const role = grants('CurrentStatePlanner');
    const silver = role.filter(([, r]) => r.includes('StorageSilver'));
    const objects = silver.filter(([a]) => a !== 's3:ListBucket');
    for (const [action, resource] of objects) {
      if (action === 's3:GetObject') expect(resource).toMatch(/_commits\/|_state\/current\//);
      else {
        expect(action).toBe('s3:PutObject');
        expect(resource).toMatch(/_state\/current\/[a-z]+\/\*/);
      }
    }
    // One watermark prefix per domain.
    expect(objects.filter(([a]) => a === 's3:PutObject')).toHaveLength(
      new Set(contracts.map((c) => c.domain)).size,
    );
  });
});
