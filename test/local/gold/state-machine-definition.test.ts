import {
  type CfnTemplate,
  goldDefinition,
  goldStateMachineId,
  TemplateResolver,
} from '../../../local/gold/state-machine-definition';

const layer = (value: string) => ({
  Tags: [
    { Key: 'owner', Value: 'x' },
    { Key: 'layer', Value: value },
  ],
});

/** A small template shaped like the synthesized one: buckets tagged by layer, a topic, Glue, Athena, one gold machine. */
const TEMPLATE: CfnTemplate = {
  Resources: {
    GoldBucket1A2B: { Type: 'AWS::S3::Bucket', Properties: layer('gold') },
    ResultsBucket9F: { Type: 'AWS::S3::Bucket', Properties: layer('athena-results') },
    Untagged: { Type: 'AWS::S3::Bucket' },
    AlarmTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'medallion-alarms' } },
    NamelessTopic: { Type: 'AWS::SNS::Topic' },
    Lake: { Type: 'AWS::Glue::Database', Properties: { DatabaseInput: { Name: 'medallion_lake' } } },
    WorkGroup: { Type: 'AWS::Athena::WorkGroup', Properties: { Name: 'medallion-gold' } },
    Fn: { Type: 'AWS::Lambda::Function' },
    GoldStateMachineAB12: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        DefinitionString: {
          'Fn::Join': [
            '',
            [
              '{"StartAt":"Unload","States":{"Unload":{"Type":"Task","Resource":"arn:',
              { Ref: 'AWS::Partition' },
              ':states:::athena:startQueryExecution.sync","Parameters":{"WorkGroup":"',
              { Ref: 'WorkGroup' },
              '","QueryString":"UNLOAD (SELECT 1) TO \'s3://',
              { Ref: 'GoldBucket1A2B' },
              '/daily/\'"},"Next":"Notify"},"Notify":{"Type":"Task","Resource":"arn:',
              { Ref: 'AWS::Partition' },
              ':states:::sns:publish","Parameters":{"TopicArn":"',
              { Ref: 'AlarmTopic' },
              '"},"End":true}}}',
            ],
          ],
        },
      },
    },
    OtherMachine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { DefinitionString: '{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}' },
    },
  },
};

describe('TemplateResolver', () => {
  const resolver = new TemplateResolver(TEMPLATE);

  it('resolves a Ref to a bucket to `medallion-local-<layer tag>`, or the logical id without a tag', () => {
    expect(resolver.resolve({ Ref: 'GoldBucket1A2B' })).toBe('medallion-local-gold');
    expect(resolver.resolve({ Ref: 'ResultsBucket9F' })).toBe('medallion-local-athena-results');
    expect(resolver.resolve({ Ref: 'Untagged' })).toBe('medallion-local-Untagged');
  });

  it('takes bucket names by layer, the bucket prefix, the region and the account from its options', () => {
    const custom = new TemplateResolver(TEMPLATE, {
      buckets: { gold: 'my-gold' },
      bucketPrefix: 'lab',
      region: 'eu-west-3',
      accountId: '123456789012',
    });
    expect(custom.resolve({ Ref: 'GoldBucket1A2B' })).toBe('my-gold');
    expect(custom.resolve({ Ref: 'ResultsBucket9F' })).toBe('lab-athena-results');
    expect(custom.resolve({ Ref: 'AlarmTopic' })).toBe('arn:aws:sns:eu-west-3:123456789012:medallion-alarms');
    expect(custom.resolve({ Ref: 'AWS::Region' })).toBe('eu-west-3');
    expect(custom.resolve({ Ref: 'AWS::AccountId' })).toBe('123456789012');
  });

  it('resolves a Ref to a topic to its ARN, named after TopicName or else the logical id', () => {
    expect(resolver.resolve({ Ref: 'AlarmTopic' })).toBe(
      'arn:aws:sns:us-east-1:000000000000:medallion-alarms',
    );
    expect(resolver.resolve({ Ref: 'NamelessTopic' })).toBe(
      'arn:aws:sns:us-east-1:000000000000:NamelessTopic',
    );
  });

  it('resolves a Ref to a Glue database or an Athena workgroup to its name', () => {
    expect(resolver.resolve({ Ref: 'Lake' })).toBe('medallion_lake');
    expect(resolver.resolve({ Ref: 'WorkGroup' })).toBe('medallion-gold');
  });

  it('resolves the pseudo parameters to local values', () => {
    expect(
      resolver.resolve([
        { Ref: 'AWS::Partition' },
        { Ref: 'AWS::Region' },
        { Ref: 'AWS::AccountId' },
        { Ref: 'AWS::URLSuffix' },
        { Ref: 'AWS::StackName' },
      ]),
    ).toEqual(['aws', 'us-east-1', '000000000000', 'amazonaws.com', 'medallion-local']);
  });

  it('resolves a Ref to any other resource to `local-<id>`, and refuses a name the template does not hold', () => {
    expect(resolver.resolve({ Ref: 'Fn' })).toBe('local-Fn');
    expect(() => resolver.resolve({ Ref: 'Missing' })).toThrow(
      'Ref of an unknown resource or parameter Missing',
    );
  });

  it('resolves Fn::GetAtt of an ARN attribute to an ARN of the resource type, any other attribute to a placeholder', () => {
    expect(resolver.resolve({ 'Fn::GetAtt': ['Fn', 'Arn'] })).toBe(
      'arn:aws:lambda:us-east-1:000000000000:Fn',
    );
    expect(resolver.resolve({ 'Fn::GetAtt': ['WorkGroup', 'WorkGroupArn'] })).toBe(
      'arn:aws:athena:us-east-1:000000000000:WorkGroup',
    );
    expect(resolver.resolve({ 'Fn::GetAtt': ['GoldBucket1A2B', 'DomainName'] })).toBe(
      'local-GoldBucket1A2B-DomainName',
    );
    expect(() => resolver.resolve({ 'Fn::GetAtt': ['Missing', 'Arn'] })).toThrow(
      'Fn::GetAtt of an unknown resource Missing',
    );
  });

  it('joins Fn::Join parts after resolving them, numbers included', () => {
    expect(
      resolver.resolve({
        'Fn::Join': ['/', ['s3:', '', { Ref: 'GoldBucket1A2B' }, 'v', 2, { Ref: 'AWS::Region' }]],
      }),
    ).toBe('s3://medallion-local-gold/v/2/us-east-1');
  });

  it('substitutes Ref and Resource.Attribute placeholders in the string form of Fn::Sub', () => {
    expect(
      resolver.resolve({ 'Fn::Sub': `s3://\${GoldBucket1A2B}/x in \${AWS::Region}, calling \${Fn.Arn}` }),
    ).toBe('s3://medallion-local-gold/x in us-east-1, calling arn:aws:lambda:us-east-1:000000000000:Fn');
    expect(() => resolver.resolve({ 'Fn::Sub': `\${Nope}` })).toThrow(
      'Ref of an unknown resource or parameter Nope',
    );
  });

  it('refuses the list form of Fn::Sub and any other intrinsic function', () => {
    expect(() => resolver.resolve({ 'Fn::Sub': [`\${X}`, { X: 'y' }] })).toThrow(
      'unsupported CloudFormation function Fn::Sub',
    );
    expect(() => resolver.resolve({ 'Fn::Select': [0, ['a']] })).toThrow(
      'unsupported CloudFormation function Fn::Select',
    );
  });

  it('resolves tokens nested in objects and arrays, and leaves scalars and plain objects as they are', () => {
    expect(
      resolver.resolve({
        Bucket: { Ref: 'GoldBucket1A2B' },
        List: [{ Ref: 'Lake' }, 'text', 3, true, null],
        // Not a token: a Ref next to another key is an ordinary field.
        Mixed: { Ref: 'Missing', Other: 1 },
      }),
    ).toEqual({
      Bucket: 'medallion-local-gold',
      List: ['medallion_lake', 'text', 3, true, null],
      Mixed: { Ref: 'Missing', Other: 1 },
    });
    expect(resolver.resolve('plain')).toBe('plain');
    expect(resolver.resolve(undefined)).toBeUndefined();
  });

  it('names the local bucket of a layer, and refuses a layer no bucket is tagged with', () => {
    expect(resolver.bucketOf('gold')).toBe('medallion-local-gold');
    expect(
      new TemplateResolver(TEMPLATE, { buckets: { 'athena-results': 'r' } }).bucketOf('athena-results'),
    ).toBe('r');
    expect(() => resolver.bucketOf('silver')).toThrow('the template has no bucket tagged layer=silver');
  });

  it('defaults to region us-east-1 and account 000000000000', () => {
    expect([resolver.region, resolver.accountId]).toEqual(['us-east-1', '000000000000']);
  });
});

describe('goldStateMachineId', () => {
  it('picks the one state machine whose id starts with Gold', () => {
    expect(goldStateMachineId(TEMPLATE)).toBe('GoldStateMachineAB12');
  });

  it('also recognizes a state machine by the Athena queries it starts', () => {
    const template: CfnTemplate = {
      Resources: {
        Pipeline: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: { DefinitionString: '{"Resource":"arn:aws:states:::athena:startQueryExecution.sync"}' },
        },
        Other: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: '{}' } },
        // Not a state machine, whatever its name.
        GoldRole: { Type: 'AWS::IAM::Role' },
      },
    };
    expect(goldStateMachineId(template)).toBe('Pipeline');
  });

  it('fails naming what it found when there is no gold state machine or more than one', () => {
    expect(() => goldStateMachineId({ Resources: {} })).toThrow(
      'expected one gold state machine in the template, found 0: ',
    );
    const two: CfnTemplate = {
      Resources: {
        GoldA: { Type: 'AWS::StepFunctions::StateMachine' },
        GoldB: { Type: 'AWS::StepFunctions::StateMachine' },
      },
    };
    expect(() => goldStateMachineId(two)).toThrow(
      'expected one gold state machine in the template, found 2: GoldA, GoldB',
    );
  });
});

describe('goldDefinition', () => {
  it('parses the Fn::Join DefinitionString with its tokens resolved to local names', () => {
    expect(goldDefinition(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } }))).toEqual({
      StartAt: 'Unload',
      States: {
        Unload: {
          Type: 'Task',
          Resource: 'arn:aws:states:::athena:startQueryExecution.sync',
          Parameters: { WorkGroup: 'medallion-gold', QueryString: "UNLOAD (SELECT 1) TO 's3://g/daily/'" },
          Next: 'Notify',
        },
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sns:publish',
          Parameters: { TopicArn: 'arn:aws:sns:us-east-1:000000000000:medallion-alarms' },
          End: true,
        },
      },
    });
  });

  it('takes a Definition given as an object, its tokens resolved in place', () => {
    const template: CfnTemplate = {
      Resources: {
        Gold: { Type: 'AWS::S3::Bucket', Properties: layer('gold') },
        GoldMachine: {
          Type: 'AWS::StepFunctions::StateMachine',
          Properties: {
            Definition: {
              StartAt: 'P',
              States: { P: { Type: 'Pass', Result: { bucket: { Ref: 'Gold' } }, End: true } },
            },
          },
        },
      },
    };
    expect(goldDefinition(new TemplateResolver(template))).toEqual({
      StartAt: 'P',
      States: { P: { Type: 'Pass', Result: { bucket: 'medallion-local-gold' }, End: true } },
    });
  });
});
