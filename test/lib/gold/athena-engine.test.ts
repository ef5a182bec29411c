/** The Athena engine: the UNLOAD task of each model, its retries and its IAM; in the workflow, then alone. */
import { App, Stack } from 'aws-cdk-lib';
import { unloadStatement } from '../../../core/gold/unload';
import { AthenaEngine, type AthenaEngineProps } from '../../../lib/gold/athena-engine';
import { LakeStorage } from '../../../lib/lake-storage';
import { logicalId, testContext } from '../../support/cdk';
import { DATABASE, sql, synthesizedWorkflow, WORKGROUP, workflowIam } from '../../support/cdk-gold-workflow';

describe('the Athena engine in the workflow', () => {
  const { t, byName } = synthesizedWorkflow();

  test.each(['a', 'b', 'c'])(
    'model %s: the Athena task waits for the query (.sync) in the workgroup and UNLOADs the SQL to the version',
    (model) => {
      const write = byName(`${model}: write`).state;
      expect(write.Resource).toBe('arn:aws:states:::athena:startQueryExecution.sync');
      expect(write.Parameters.WorkGroup).toBe(WORKGROUP);
      expect(write.Parameters.QueryExecutionContext).toEqual({ Database: DATABASE });
      expect(write.TimeoutSeconds).toBe(3600);
      expect(write.Parameters['QueryString.$']).toBe(
        "States.Format('{}{}{}', $.run.before, $.location, $.run.after)",
      );
      // The statement's text travels as plain JSON values of the version state, not as intrinsic literals.
      const run = byName(`${model}: version`).state.Parameters.run;
      expect(run).toEqual(unloadStatement(sql(model)));
      const select = sql(model)
        .trim()
        .replace(/;+\s*$/, '')
        .trim();
      expect(`${run.before}s3://gold/x/v=run/${run.after}`).toBe(
        `UNLOAD (\n${select}\n) TO 's3://gold/x/v=run/' WITH (format = 'PARQUET', compression = 'ZSTD')`,
      );
    },
  );

  test('the Athena task retries throttling (several times) and a failed query (twice, with backoff)', () => {
    expect(byName('a: write').state.Retry).toEqual([
      {
        ErrorEquals: ['Athena.TooManyRequestsException', 'Athena.InternalServerException'],
        IntervalSeconds: 10,
        MaxAttempts: 6,
        BackoffRate: 2,
      },
      { ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 30, MaxAttempts: 2, BackoffRate: 2 },
    ]);
  });

  describe('IAM', () => {
    const { actionsOn, resourcesOf } = workflowIam(t);

    test('Athena: start, get and stop queries in the workgroup only', () => {
      for (const action of [
        'athena:StartQueryExecution',
        'athena:GetQueryExecution',
        'athena:StopQueryExecution',
      ]) {
        expect(resourcesOf(action)).toEqual([
          expect.stringContaining(`:athena:eu-west-1:111111111111:workgroup/${WORKGROUP}`),
        ]);
      }
    });

    test("S3: read silver, write only the models' own gold prefixes, write the workgroup's results prefix", () => {
      const gold = logicalId(t, 'AWS::S3::Bucket', 'StorageGold');
      const silver = logicalId(t, 'AWS::S3::Bucket', 'StorageSilver');
      const results = logicalId(t, 'AWS::S3::Bucket', 'StorageAthenaResults');
      const putOn = resourcesOf('s3:PutObject');
      expect(putOn.filter((r) => r.includes(gold)).sort()).toEqual(
        ['a', 'b', 'c'].map((n) => expect.stringContaining(`"/${n}/*"`)),
      );
      expect(putOn.filter((r) => r.includes(results))).toEqual([
        expect.stringContaining(`"/${WORKGROUP}/*"`),
      ]);
      expect(putOn.some((r) => r.includes(silver))).toBe(false);
      expect([...actionsOn((r) => r.includes(silver))].sort()).toEqual(
        ['s3:GetBucketLocation', 's3:GetObject', 's3:ListBucket'].sort(),
      );
      // c reads a and b: their prefixes are readable; a reads no gold table.
      const goldReads = resourcesOf('s3:GetObject').filter((r) => r.includes(gold));
      expect(goldReads.sort()).toEqual(['a', 'b'].map((n) => expect.stringContaining(`"/${n}/*"`)));
      expect(actionsOn((r) => r.includes(gold)).has('s3:DeleteObject')).toBe(false);
    });
  });
});

describe('AthenaEngine alone', () => {
  const stack = new Stack(new App({ context: testContext() }), 'Engine');
  const storage = new LakeStorage(stack, 'Storage');
  const props: AthenaEngineProps = {
    workGroup: 'wg',
    resultsBucket: storage.athenaResultsBucket,
    key: storage.key,
    silverBucket: storage.silverBucket,
  };

  test("named 'athena'; a model's input is the UNLOAD statement around its location", () => {
    const engine = new AthenaEngine(props);
    expect(engine.name).toBe('athena');
    expect(engine.modelInput({ name: 'a', sql: sql('a'), dependsOn: [] })).toEqual(unloadStatement(sql('a')));
  });

  test.each([
    ['resultsPrefix', { resultsPrefix: 'results' }, 'results'],
    ['silverPrefixes', { silverPrefixes: ['retail/orders/', 'retail/items'] }, 'retail/items'],
  ])('refuses a prefix without its trailing slash (%s)', (_, extra, prefix) => {
    expect(() => new AthenaEngine({ ...props, ...extra })).toThrow(
      `Athena engine: prefix '${prefix}' must end with '/'`,
    );
  });

  test('the whole silver bucket (the empty prefix) is a valid choice', () => {
    expect(() => new AthenaEngine({ ...props, silverPrefixes: [''] })).not.toThrow();
  });
});
