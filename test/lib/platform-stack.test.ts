/**
 * The whole stack as `cdk synth` builds it (default configuration, sample contracts), asset bundling
 * skipped. `Template.fromStack` synthesizes the app, so cdk-nag runs here too: a finding fails the suite.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { datasetTableNames } from '../../core/silver/tables';
import { PII_HASH_SALT_SECRET_ARN_ENV } from '../../lib/bronze-to-silver-pipeline';
import { createMedallionApp } from '../../lib/medallion-app';
import { flattenReference } from '../../lib/nag';
import {
  asArray,
  definitionOf,
  identityStatements,
  logicalId,
  policyStatements,
  roleStatements,
  type Statement,
  testContext,
} from '../support/cdk';

const app = createMedallionApp({
  context: testContext({ medallion: { account: '111111111111', region: 'eu-west-1' } }),
});
const { stack } = app;
const t = Template.fromStack(stack);

// asl-validator ships no types: (definition) => { isValid, errorsText(separator) }.
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const fnId = (prefix: string) => logicalId(t, 'AWS::Lambda::Function', prefix);
const fn = (prefix: string) => t.findResources('AWS::Lambda::Function')[fnId(prefix)];
const bucketId = (name: string) => logicalId(t, 'AWS::S3::Bucket', `Storage${name}`);
/** The platform grants, notifies and expires per domain: the samples are one domain. */
const DOMAINS = ['retail/'];

describe('ingest API', () => {
  test('POST /datasets/{dataset}/records requires AWS_IAM and validates the path and Content-Type', () => {
    t.resourceCountIs('AWS::ApiGateway::Method', 1);
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestParameters: {
        'method.request.path.dataset': true,
        'method.request.header.Content-Type': true,
      },
      RequestValidatorId: { Ref: logicalId(t, 'AWS::ApiGateway::RequestValidator', 'IngestApiValidator') },
      Integration: Match.objectLike({
        Type: 'AWS_PROXY',
        Uri: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [fnId('IngestApiHandlerFunction'), 'Arn'] }])],
        }),
      }),
    });
    t.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestParameters: true });
    const paths = Object.values(t.findResources('AWS::ApiGateway::Resource')).map(
      (r) => r.Properties.PathPart,
    );
    expect(paths).toEqual(['datasets', '{dataset}', 'records']);
  });

  test('every method of the API requires AWS_IAM', () => {
    for (const m of Object.values(t.findResources('AWS::ApiGateway::Method'))) {
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
    }
  });

  test('the stage is throttled, traced, and logs access and errors but never bodies', () => {
    t.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'v1',
      TracingEnabled: true,
      AccessLogSetting: {
        // The log group's ARN without the trailing ':*' (@aws-cdk/aws-apigateway:logGroupDestinationArnWithoutWildcard).
        DestinationArn: {
          'Fn::Join': [
            '',
            [
              'arn:aws:logs:eu-west-1:111111111111:log-group:',
              { Ref: logicalId(t, 'AWS::Logs::LogGroup', 'IngestApiAccessLogs') },
            ],
          ],
        },
        Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
      },
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          MetricsEnabled: true,
        },
      ],
    });
    t.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
  });

  test('bodies reach the function as bytes (all media types binary), on a regional endpoint', () => {
    t.hasResourceProperties('AWS::ApiGateway::RestApi', {
      BinaryMediaTypes: ['*/*'],
      EndpointConfiguration: { Types: ['REGIONAL'] },
    });
  });

  test('the API door runs apiHandler with the body limit and the contracts', () => {
    const p = fn('IngestApiHandlerFunction').Properties;
    expect(p).toMatchObject({
      Handler: 'index.apiHandler',
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          MEDALLION_BRONZE_BUCKET: { Ref: bucketId('Bronze') },
          MEDALLION_LANDING_BUCKET: { Ref: bucketId('Landing') },
          MEDALLION_QUARANTINE_BUCKET: { Ref: bucketId('Quarantine') },
          MEDALLION_MAX_BODY_BYTES: String(4 * 1024 * 1024),
          MEDALLION_CONTRACTS_DIR: '/var/task/contracts',
        },
      },
    });
  });
});

describe('landing -> bronze', () => {
  test('every landing upload invokes the landing function (s3Handler)', () => {
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketId('Landing') },
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          {
            Events: ['s3:ObjectCreated:*'],
            LambdaFunctionArn: { 'Fn::GetAtt': [fnId('BronzeToSilverLandingFunction'), 'Arn'] },
          },
        ],
      },
    });
    expect(fn('BronzeToSilverLandingFunction').Properties.Handler).toBe('index.s3Handler');
  });

  test('failed landings are retried twice, then go to an encrypted failure queue', () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId('BronzeToSilverLandingFunction') },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: {
          Destination: {
            'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'BronzeToSilverLandingFailures'), 'Arn'],
          },
        },
      },
    });
  });
});

describe('bronze -> queue -> transform', () => {
  const queueId = logicalId(t, 'AWS::SQS::Queue', 'BronzeToSilverTransformQueue');
  const dlqId = logicalId(t, 'AWS::SQS::Queue', 'BronzeToSilverTransformDeadLetters');

  test('one bronze notification per domain, filtered on <domain>/', () => {
    const notifications = t.findResources('Custom::S3BucketNotifications', {
      Properties: { BucketName: { Ref: bucketId('Bronze') } },
    });
    const configs = Object.values(notifications)[0].Properties.NotificationConfiguration.QueueConfigurations;
    expect(
      configs.map((c: { Filter: { Key: { FilterRules: { Value: string }[] } } }) => c.Filter.Key.FilterRules),
    ).toEqual(DOMAINS.map((prefix) => [{ Name: 'prefix', Value: prefix }]));
    for (const c of configs) {
      expect(c).toMatchObject({
        Events: ['s3:ObjectCreated:*'],
        QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      });
    }
  });

  test('the queue is encrypted, TLS-only, redrives to the dead-letter queue after 3 receives', () => {
    t.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 900 * 6,
      MessageRetentionPeriod: 14 * 24 * 3600,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
    });
    for (const q of Object.values(t.findResources('AWS::SQS::Queue'))) {
      expect(q.Properties.SqsManagedSseEnabled).toBe(true);
    }
    for (const id of Object.keys(t.findResources('AWS::SQS::Queue'))) {
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  test('S3 may send to the queue only from the bronze bucket', () => {
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 's3.amazonaws.com' },
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId('Bronze'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  test('the event source reports batch item failures, in small batches, at most 5 at once without reserving any', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: fnId('BronzeToSilverTransformFunction') },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  test('lambdaArchitecture: x86_64 puts every function on x86_64 (the transform bundles its DuckDB binding)', () => {
    const { stack: x86 } = createMedallionApp({
      context: testContext({
        medallion: { account: '111111111111', region: 'eu-west-1', lambdaArchitecture: 'x86_64' },
      }),
    });
    const functions = Object.entries(Template.fromStack(x86).findResources('AWS::Lambda::Function')).filter(
      ([id]) => !id.startsWith('BucketNotificationsHandler') && !id.startsWith('LogRetention'),
    );
    expect(functions.length).toBeGreaterThanOrEqual(7);
    for (const [id, f] of functions) expect([id, f.Properties.Architectures]).toEqual([id, ['x86_64']]);
  });

  test('the transform: arm64 by default, sized from the config, traced, with its environment', () => {
    const p = fn('BronzeToSilverTransformFunction').Properties;
    expect(p).toMatchObject({
      Handler: 'index.handler',
      Architectures: ['arm64'],
      Runtime: 'nodejs24.x',
      MemorySize: 3008,
      Timeout: 900,
      EphemeralStorage: { Size: 4096 },
      TracingConfig: { Mode: 'Active' },
    });
    // Reserving would fail the deploy on accounts whose concurrency quota is under 100 + the reservation.
    expect(p.ReservedConcurrentExecutions).toBeUndefined();
    expect(p.Environment.Variables).toEqual({
      MEDALLION_SILVER_BUCKET: { Ref: bucketId('Silver') },
      MEDALLION_QUARANTINE_BUCKET: { Ref: bucketId('Quarantine') },
      MEDALLION_CONTRACTS_DIR: '/var/task/contracts',
      MEDALLION_SCRATCH_DIR: '/tmp',
      MEDALLION_ENGINE_MEMORY_LIMIT: '1804MB',
      MEDALLION_MAX_DECOMPRESSED_BYTES: String(Math.floor(4096 * 1024 * 1024 * 0.4)),
      MEDALLION_MAX_RECEIVE_COUNT: '3',
      [PII_HASH_SALT_SECRET_ARN_ENV]: {
        Ref: logicalId(t, 'AWS::SecretsManager::Secret', 'BronzeToSilverPiiHashSalt'),
      },
      NODE_OPTIONS: '--enable-source-maps',
    });
    // The salt itself never appears in the function's configuration.
    expect(JSON.stringify(p.Environment)).not.toContain('MEDALLION_PII_HASH_SALT"');
  });

  test('the PII salt is generated in Secrets Manager, encrypted with the lake key, retained', () => {
    t.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: {
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
        KmsKeyId: { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'StorageKey'), 'Arn'] },
      },
    });
  });
});

describe('functions', () => {
  test('each writes only to its own retained log group, with a retention', () => {
    for (const [id, f] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
      if (id.startsWith('BucketNotificationsHandler')) continue;
      const group = t.findResources('AWS::Logs::LogGroup')[f.Properties.LoggingConfig.LogGroup.Ref];
      expect(group.DeletionPolicy).toBe('Retain');
      expect(group.Properties.RetentionInDays).toBe(90);
      const role = f.Properties.Role['Fn::GetAtt'][0];
      const policy = Object.values(t.findResources('AWS::IAM::Policy')).find((p) =>
        p.Properties.Roles.some((r: { Ref: string }) => r.Ref === role),
      );
      const logStatements = policy?.Properties.PolicyDocument.Statement.filter((s: Statement) =>
        asArray(s.Action).some((a) => a.startsWith('logs:')),
      );
      expect(logStatements).toEqual([
        {
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [f.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] },
        },
      ]);
    }
  });

  test('no pipeline role uses an AWS managed policy', () => {
    for (const prefix of [
      'IngestApiHandlerRole',
      'BronzeToSilverLandingRole',
      'BronzeToSilverTransformRole',
    ]) {
      const role = t.findResources('AWS::IAM::Role')[logicalId(t, 'AWS::IAM::Role', prefix)];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });
});

describe('least privilege', () => {
  const all = identityStatements(t);
  const actionsOf = (s: Statement) => asArray(s.Action);
  const dataBuckets = ['Landing', 'Bronze', 'Silver', 'Gold', 'Quarantine', 'AthenaResults'].map(bucketId);

  test("no identity statement allows '*' or any wildcard S3 or KMS action", () => {
    for (const { statement } of all) {
      for (const a of actionsOf(statement)) {
        expect(a).not.toBe('*');
        if (a.startsWith('s3:') || a.startsWith('kms:')) expect(a).not.toContain('*');
      }
    }
  });

  test("the only statements on Resource '*' are X-Ray's, log delivery's and PutMetricData in Medallion", () => {
    const gold = logicalId(t, 'AWS::IAM::Policy', 'GoldStateMachineRoleDefaultPolicy');
    for (const { resource, statement } of all) {
      if (!asArray(statement.Resource).includes('*')) continue;
      const actions = actionsOf(statement).sort();
      if (actions.includes('cloudwatch:PutMetricData')) {
        expect(resource).toBe(gold);
        expect(actions).toEqual(['cloudwatch:PutMetricData']);
        expect(statement.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': 'Medallion' } });
      } else if (resource === gold) {
        // The state machine's tracing and its execution log (CDK's statements for logs and X-Ray).
        // ...and Lake Formation's data access for Athena's merges (no resource-level permission).
        for (const a of actions)
          expect(a).toMatch(
            /^(xray:(Put|GetSampling)|logs:[A-Za-z]*(LogDeliver|ResourcePolic|LogGroups)|lakeformation:GetDataAccess$)/,
          );
      } else {
        expect(actions).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
    }
  });

  test('statements on data buckets name a bucket or a prefix of it', () => {
    for (const { statement } of all) {
      for (const r of asArray(statement.Resource).map(flattenReference)) {
        const bucket = dataBuckets.find((b) => r.startsWith(`<${b}.Arn>`));
        if (!bucket) continue;
        // A bucket, a prefix of it, or one object (a dataset's current-state watermark).
        expect(r).toMatch(new RegExp(`^<${bucket}\\.Arn>(/([a-z0-9_=-]+/)*(\\*|[a-z0-9_-]+\\.json))?$`));
      }
    }
  });

  /** Resources (flattened) a pipeline policy allows `action` on. */
  const allowed = (policy: string, action: string) =>
    policyStatements(t, policy)
      .filter((s) => actionsOf(s).includes(action))
      .flatMap((s) => asArray(s.Resource).map(flattenReference))
      .sort();
  const objects = (bucket: string, prefixes: string[]) =>
    prefixes.map((p) => `<${bucketId(bucket)}.Arn>/${p}*`);

  test("API door: bronze data and index prefixes of each contract's domain, list bronze", () => {
    const p = 'IngestApiHandlerRoleDefaultPolicy';
    expect(allowed(p, 's3:PutObject')).toEqual(
      objects('Bronze', [
        ...DOMAINS.map((d) => `_index/idempotency/${d}`),
        ...DOMAINS.map((d) => `_index/sha256/${d}`),
        ...DOMAINS,
      ]).sort(),
    );
    expect(allowed(p, 's3:ListBucket')).toEqual([`<${bucketId('Bronze')}.Arn>`]);
    expect(allowed(p, 's3:DeleteObject')).toEqual([]);
  });

  test('S3 door: read/delete landing, write bronze and quarantine/unknown, list landing and bronze', () => {
    const p = 'BronzeToSilverLandingRoleDefaultPolicy';
    expect(allowed(p, 's3:DeleteObject')).toEqual([`<${bucketId('Landing')}.Arn>/*`]);
    expect(allowed(p, 's3:PutObject')).toEqual(
      [
        ...objects('Bronze', [...DOMAINS.map((d) => `_index/sha256/${d}`), ...DOMAINS]),
        ...objects('Quarantine', ['unknown/']),
      ].sort(),
    );
    expect(allowed(p, 's3:ListBucket')).toEqual(
      [`<${bucketId('Bronze')}.Arn>`, `<${bucketId('Landing')}.Arn>`].sort(),
    );
  });

  test('transform: read bronze datasets, write silver and quarantine prefixes, list silver', () => {
    const p = 'BronzeToSilverTransformRoleDefaultPolicy';
    expect(allowed(p, 's3:GetObject')).toEqual(
      [
        ...objects('Bronze', DOMAINS),
        ...objects('Silver', [...DOMAINS.map((d) => `_manifests/${d}`), ...DOMAINS]),
      ].sort(),
    );
    expect(allowed(p, 's3:PutObject')).toEqual(
      [
        // _commits/: the commit log the current-state merge reads (append only: no read, no delete).
        ...objects('Silver', [
          ...DOMAINS.map((d) => `_manifests/${d}`),
          ...DOMAINS.map((d) => `_commits/${d}`),
          ...DOMAINS,
        ]),
        ...objects('Quarantine', [
          ...DOMAINS.map((d) => `failed/${d}`),
          ...DOMAINS.map((d) => `files/${d}`),
          ...DOMAINS.map((d) => `rows/${d}`),
        ]),
      ].sort(),
    );
    expect(allowed(p, 's3:ListBucket')).toEqual([`<${bucketId('Silver')}.Arn>`]);
    expect(allowed(p, 'secretsmanager:GetSecretValue')).toEqual([
      `<${logicalId(t, 'AWS::SecretsManager::Secret', 'BronzeToSilverPiiHashSalt')}>`,
    ]);
  });

  test('the lake key is usable only through S3 (or Secrets Manager for the salt), the alarm key through SNS', () => {
    const lakeKey = { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'StorageKey'), 'Arn'] };
    const topicKey = { 'Fn::GetAtt': [logicalId(t, 'AWS::KMS::Key', 'MonitoringTopicKey'), 'Arn'] };
    for (const { statement } of all) {
      const kmsActions = actionsOf(statement).filter((a) => a.startsWith('kms:'));
      if (kmsActions.length === 0) continue;
      const via = (statement.Condition as { StringEquals: Record<string, string> }).StringEquals[
        'kms:ViaService'
      ];
      if (via.startsWith('sns.')) {
        // The gold workflow publishes its failures to the (encrypted) alarm topic.
        expect([via, statement.Resource]).toEqual(['sns.eu-west-1.amazonaws.com', topicKey]);
        continue;
      }
      expect(statement.Resource).toEqual(lakeKey);
      expect(statement.Condition).toEqual({
        StringEquals: {
          'kms:ViaService': expect.stringMatching(/^(s3|secretsmanager)\.eu-west-1\.amazonaws\.com$/),
        },
      });
    }
  });
});

describe('gold', () => {
  const sm = logicalId(t, 'AWS::StepFunctions::StateMachine', 'GoldStateMachine');
  const def = definitionOf(t);
  const database = 'medallion_dev';

  test('the gold workflow state machine is in the stack and its definition is valid ASL', () => {
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    });
    // The validator annotates the states it checks: give it a copy.
    const { isValid, errorsText } = aslValidator(structuredClone(def));
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  test('the sample models run in two waves, then, once every model published, retention and GoldPublished', () => {
    const waves = ['wave 1', 'wave 2'].map((w) =>
      def.States[w].Branches.map((b: { StartAt: string }) => b.StartAt.replace(/: (version|upstream)$/, '')),
    );
    expect(waves).toEqual([['customer_lifetime_value', 'daily_sales'], ['category_sales']]);
    // category_sales reads daily_sales: it checks daily_sales published in this run before it starts.
    expect(def.States['wave 2'].Branches[0].StartAt).toBe('category_sales: upstream');
    expect(def.States['wave 2'].Next).toBe('gold: outcomes');
    expect(def.States['gold: all published?'].Choices[0].Next).toBe('retention: old versions');
    expect(def.States['retention: old versions'].Next).toBe('metric: gold published');
    expect(def.States['metric: gold published'].Parameters).toEqual({
      Namespace: 'Medallion',
      MetricData: [{ MetricName: 'GoldPublished', Value: 1, Unit: 'Count' }],
    });
    // The SQL as Athena gets it: refs rendered as the lake's database and table.
    const run = def.States['wave 1'].Branches[0].States['customer_lifetime_value: version'].Parameters.run;
    expect(run.before).toContain(`FROM "${database}"."orders"`);
    expect(run.before).not.toContain('{{');
    // daily_sales is incremental: the planner gets its SQL, with `orders` as a window of partitions.
    const spec = def.States['wave 1'].Branches[1].States['daily_sales: version'].Parameters.spec;
    expect(spec.windowSql).toContain(`FROM (SELECT * FROM "${database}"."orders" WHERE "dt" IN (`);
    expect(spec).toMatchObject({ column: 'sales_date', lookbackDays: 1, otherTables: ['products'] });
  });

  test('one gold Glue table per model, with the columns its header declares', () => {
    const gold = Object.values(t.findResources('AWS::Glue::Table'))
      .map((r) => r.Properties.TableInput)
      .filter((ti) => !stack.contracts.some((c) => datasetTableNames(c).includes(ti.Name)));
    expect(gold.map((ti) => ti.Name).sort()).toEqual([
      'category_sales',
      'customer_lifetime_value',
      'daily_sales',
    ]);
    t.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: { Ref: logicalId(t, 'AWS::Glue::Database', 'CatalogDatabase') },
      TableInput: Match.objectLike({
        Name: 'daily_sales',
        Description: Match.stringLikeRegexp('^Daily sales by UTC order date'),
        // Incremental: partitioned by its date, each partition registered by the workflow.
        PartitionKeys: [{ Name: 'sales_date', Type: 'date' }],
        StorageDescriptor: Match.objectLike({
          Columns: [
            { Name: 'store_id', Type: 'string' },
            { Name: 'category', Type: 'string' },
            { Name: 'orders', Type: 'bigint' },
            { Name: 'revenue', Type: 'decimal(18,2)' },
            { Name: 'average_order_value', Type: 'decimal(18,2)' },
            { Name: 'unique_customers', Type: 'bigint' },
          ],
        }),
      }),
    });
    t.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: database }) });
  });

  test('the schedule rule (from the configuration) starts the state machine, after the catalog exists', () => {
    const rules = t.findResources('AWS::Events::Rule', {
      Properties: { Targets: [Match.objectLike({ Arn: { Ref: sm } })] },
    });
    const [id] = Object.keys(rules);
    expect(Object.keys(rules)).toHaveLength(1);
    expect(rules[id].Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    const dependsOn = t.findResources('AWS::StepFunctions::StateMachine')[sm].DependsOn as string[];
    expect(dependsOn).toEqual(
      expect.arrayContaining([logicalId(t, 'AWS::Athena::WorkGroup', 'CatalogWorkGroup')]),
    );
  });

  test('the Freshness and GoldWorkflowFailures alarms exist, the latter on this state machine', () => {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Medallion-dev-Freshness',
      Namespace: 'Medallion',
      MetricName: 'GoldPublished',
    });
    const failures = Object.values(
      t.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: 'Medallion-dev-GoldWorkflowFailures' },
      }),
    );
    expect(failures).toHaveLength(1);
    expect(JSON.stringify(failures[0].Properties)).toContain(JSON.stringify({ Ref: sm }));
  });

  test("the workflow reads silver only under the domains' datasets (arrivals, history, current state), writes only their Iceberg tables and its own gold prefixes", () => {
    // The inline policy and its overflow (managed policies attached to the role).
    const statements = roleStatements(t, 'GoldStateMachineRole');
    const on = (action: string) =>
      statements
        .filter((s) => asArray(s.Action).includes(action))
        .flatMap((s) => asArray(s.Resource).map(flattenReference))
        .sort();
    const silver = on('s3:GetObject').filter((r) => r.startsWith(`<${bucketId('Silver')}.Arn>`));
    // The models read the tables they ref (orders, products: the current state); the merge reads every
    // dataset's arrivals and reads and writes every history and current-state table (it may read what it
    // writes: Iceberg's data and metadata).
    const silverObjects = (root: string) => DOMAINS.map((d) => `<${bucketId('Silver')}.Arn>/${root}${d}*`);
    expect([...new Set(silver)]).toEqual(
      [
        ...silverObjects('_current/'),
        ...silverObjects('_deleted/'),
        ...silverObjects('_history/'),
        ...silverObjects(''),
        // The models' refs, table by table.
        ...['orders', 'products'].map((d) => `<${bucketId('Silver')}.Arn>/_current/retail/${d}/*`),
      ].sort(),
    );
    const silverWrites = on('s3:PutObject').filter((r) => r.startsWith(`<${bucketId('Silver')}.Arn>`));
    expect(silverWrites).toEqual(
      [...silverObjects('_current/'), ...silverObjects('_deleted/'), ...silverObjects('_history/')].sort(),
    );
    const silverDeletes = on('s3:DeleteObject').filter((r) => r.startsWith(`<${bucketId('Silver')}.Arn>`));
    expect(silverDeletes).toEqual(silverWrites);
    const models = statements.filter(
      (s) => asArray(s.Action).includes('s3:GetObject') && !asArray(s.Action).includes('s3:PutObject'),
    );
    expect(models.length).toBeGreaterThan(0);
    const tables = on('glue:GetPartitions').filter((r) => r.includes(':table/'));
    // The models' refs (daily_sales, orders, products) and, for the merge, the database's tables (their
    // names carry no domain; the merge's S3 access is per domain); each tested model's staging table.
    expect([...new Set(tables.map((r) => r.replace(/^.*:table\//, '')))].sort()).toEqual([
      ...['*', 'daily_sales', 'orders', 'products'].map((x) => `${database}/${x}`),
      ...['category_sales', 'customer_lifetime_value', 'daily_sales'].map((x) => `${database}_staging/${x}`),
    ]);
    const goldWrites = on('s3:PutObject').filter((r) => r.startsWith(`<${bucketId('Gold')}.Arn>`));
    expect(goldWrites).toEqual(
      ['category_sales', 'customer_lifetime_value', 'daily_sales'].map(
        (m) => `<${bucketId('Gold')}.Arn>/${m}/*`,
      ),
    );
  });

  test('the model queries read the current state of the tables they ref, not the history or arrivals', () => {
    // The statements of the model queries: silver reads without silver writes (the merge's read and write).
    const modelReads = roleStatements(t, 'GoldStateMachineRole')
      .filter(
        (s) => asArray(s.Action).includes('s3:GetObject') && !asArray(s.Action).includes('s3:PutObject'),
      )
      .flatMap((s) => asArray(s.Resource).map(flattenReference))
      .filter((r) => r.startsWith(`<${bucketId('Silver')}.Arn>`));
    const merge = DOMAINS.map((d) => `<${bucketId('Silver')}.Arn>/${d}*`);
    expect([...new Set(modelReads.filter((r) => !merge.includes(r)))].sort()).toEqual(
      ['retail/orders/', 'retail/products/'].map((d) => `<${bucketId('Silver')}.Arn>/_current/${d}*`),
    );
  });

  test('outputs the state machine ARN', () => {
    t.hasOutput('GoldStateMachineArn', { Value: { Ref: sm } });
  });
});

describe('silver arrivals', () => {
  const silverRules = (template: Template) =>
    template.findResources('AWS::S3::Bucket')[logicalId(template, 'AWS::S3::Bucket', 'StorageSilver')]
      .Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
  const arrivalRules = (template: Template) =>
    silverRules(template)
      .filter((r) => String(r.Id).startsWith('expire-arrivals-'))
      .map((r) => [r.Prefix, r.ExpirationInDays]);

  test("each domain's arrivals in silver expire after retention.silverArrivalsDays (30 by default)", () => {
    expect(arrivalRules(t)).toEqual(DOMAINS.map((d) => [d, 30]));
  });

  test("the domain's stack declares <dataset>_arrivals, not <dataset>_history (the workflow creates it, Iceberg)", () => {
    const domain = Template.fromStack(app.domainStacks[0]);
    const names = Object.values(domain.findResources('AWS::Glue::Table')).map(
      (r) => r.Properties.TableInput.Name,
    );
    expect(names).toEqual(
      expect.arrayContaining(['customers_arrivals', 'orders_arrivals', 'products_arrivals']),
    );
    for (const name of ['customers_history', 'orders_history', 'products_history', 'orders']) {
      expect(names).not.toContain(name);
    }
    domain.hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'orders_arrivals',
        Description: Match.stringLikeRegexp('kept 30 days; the gold workflow appends them to orders_history'),
      }),
    });
  });

  test('retention.silverArrivalsDays sets the lifecycle and the tables’ descriptions', () => {
    const { stack: custom, domainStacks } = createMedallionApp({
      context: testContext({
        medallion: { account: '111111111111', region: 'eu-west-1', retention: { silverArrivalsDays: 60 } },
      }),
    });
    const template = Template.fromStack(custom);
    expect(arrivalRules(template)).toEqual(DOMAINS.map((d) => [d, 60]));
    Template.fromStack(domainStacks[0]).hasResourceProperties('AWS::Glue::Table', {
      TableInput: Match.objectLike({
        Name: 'orders_arrivals',
        Description: Match.stringLikeRegexp('kept 60 days'),
      }),
    });
  });
});

describe('stack', () => {
  test('is named after the environment and tags everything with pipeline and environment', () => {
    expect(stack.stackName).toBe('Medallion-dev');
    for (const type of ['AWS::S3::Bucket', 'AWS::Lambda::Function', 'AWS::SQS::Queue', 'AWS::KMS::Key']) {
      for (const r of Object.values(t.findResources(type))) {
        expect(r.Properties.Tags).toEqual(
          expect.arrayContaining([
            { Key: 'pipeline', Value: 'medallion' },
            { Key: 'environment', Value: 'dev' },
          ]),
        );
      }
    }
    expect(fn('BronzeToSilverTransformFunction').Properties.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'domain', Value: 'retail' },
        { Key: 'layer', Value: 'silver' },
      ]),
    );
  });

  test('every stateful resource is retained', () => {
    for (const type of [
      'AWS::S3::Bucket',
      'AWS::KMS::Key',
      'AWS::Logs::LogGroup',
      'AWS::SecretsManager::Secret',
    ]) {
      for (const r of Object.values(t.findResources(type))) expect(r.DeletionPolicy).toBe('Retain');
    }
  });

  test('outputs the API URL and the bucket and queue names', () => {
    for (const name of [
      'RecordsUrl',
      'LandingBucketName',
      'TransformDeadLetterQueueUrl',
      'LandingFailureQueueUrl',
    ]) {
      t.hasOutput(name, {});
    }
  });
});

describe('budget', () => {
  const budgetOf = (template: Template) =>
    Object.values(template.findResources('AWS::Budgets::Budget'))[0].Properties.Budget;

  test('counts the whole account by default: a tag filter sees nothing until the tags are activated', () => {
    expect(budgetOf(t).FilterExpression).toBeUndefined();
  });

  test('budgetFilterByTags counts only the resources tagged pipeline=medallion and environment=<environment>', () => {
    const filtered = createMedallionApp({
      context: testContext({
        medallion: {
          account: '111111111111',
          region: 'eu-west-1',
          environment: 'prod',
          alarmEmail: 'ops@example.com',
          budgetFilterByTags: true,
        },
      }),
    });
    expect(budgetOf(Template.fromStack(filtered.stack)).FilterExpression).toEqual({
      And: [
        { Tags: { Key: 'environment', Values: ['prod'], MatchOptions: ['EQUALS'] } },
        { Tags: { Key: 'pipeline', Values: ['medallion'], MatchOptions: ['EQUALS'] } },
      ],
    });
  });
});

describe('the PII salt survives the stack', () => {
  const actionsOf = (st: Statement) => asArray(st.Action);
  const saltId = logicalId(t, 'AWS::SecretsManager::Secret', 'BronzeToSilverPiiHashSalt');

  test('the generated salt is retained with the stack and its name is an output', () => {
    t.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(JSON.stringify(t.findOutputs('PiiSaltSecretName').PiiSaltSecretName.Value)).toContain(saltId);
  });

  test('piiSalt imports the retained secret by name: no new salt, read and decrypt granted to the transform only', () => {
    const keyArn = 'arn:aws:kms:eu-west-1:111111111111:key/0d9f3c1e-0000-4000-8000-000000000001';
    const { stack: again } = createMedallionApp({
      context: testContext({
        medallion: {
          account: '111111111111',
          region: 'eu-west-1',
          piiSalt: { secretName: 'Medallion-dev-salt', keyArn },
        },
      }),
    });
    const t2 = Template.fromStack(again);
    t2.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const transform =
      t2.findResources('AWS::Lambda::Function')[
        logicalId(t2, 'AWS::Lambda::Function', 'BronzeToSilverTransformFunction')
      ];
    expect(
      JSON.stringify(transform.Properties.Environment.Variables.MEDALLION_PII_HASH_SALT_SECRET_ARN),
    ).toContain(':secret:Medallion-dev-salt');
    const statements = policyStatements(t2, 'BronzeToSilverTransformRoleDefaultPolicy');
    const read = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    // The name's random suffix is matched by `-??????`, as IAM recommends for secrets named without it.
    expect(JSON.stringify(read?.Resource)).toContain(':secret:Medallion-dev-salt-??????');
    const decrypt = statements.find(
      (s) => actionsOf(s).includes('kms:Decrypt') && JSON.stringify(s.Resource) === JSON.stringify(keyArn),
    );
    expect(decrypt?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' },
    });
    // Nobody else may read it.
    const others = identityStatements(t2).filter(
      ({ resource, statement }) =>
        !resource.startsWith('BronzeToSilverTransformRole') &&
        actionsOf(statement).includes('secretsmanager:GetSecretValue'),
    );
    expect(others).toEqual([]);
  });

  test('a malformed piiSalt fails synth naming the field', () => {
    expect(() =>
      createMedallionApp({
        context: testContext({ medallion: { piiSalt: { secretName: 'salt', keyArn: 'not-an-arn' } } }),
      }),
    ).toThrow(/piiSalt\.keyArn: must be a KMS key ARN/);
  });
});
