import { FunctionLogs } from '../../../local/cloud/lambda-runtime';
import { LocalFunctions, localFunctionName, usedFunctions } from '../../../local/cloud/local-functions';
import type { WiredFunction } from '../../../local/cloud/template-wiring';
import { FIXTURE_MODULE, fixtureFunction, fixtureRoute, fixtureWiring } from './fixtures/wiring';

const NAMING = { bucketPrefix: 'test', region: 'eu-west-1', accountId: '123456789012' };
const named = (path: string) => localFunctionName({ ...fixtureFunction('F', 'echo'), path });

describe('localFunctionName', () => {
  it('names the pipeline functions as the logs always have', () => {
    expect(named('BronzeToSilver/Landing/Function/Resource')).toBe('landing');
    expect(named('BronzeToSilver/Transform/Function/Resource')).toBe('bronze-to-silver');
    expect(named('IngestApi/Handler/Function/Resource')).toBe('landing');
  });

  it('names any other function after its construct path, in kebab case', () => {
    expect(named('Ops/LakeCompactor/Function/Resource')).toBe('ops-lake-compactor');
    expect(named('Reports/Resource')).toBe('reports');
  });
});

describe('usedFunctions', () => {
  const functions = {
    Landing: fixtureFunction('Landing', 'echo'),
    Transform: fixtureFunction('Transform', 'batch'),
    Api: fixtureFunction('Api', 'echo'),
    Unused: fixtureFunction('Unused', 'echo'),
  };

  it('runs the notification targets, the queue consumers, the API, and any other function with a known handler (the workflow invokes those)', () => {
    const wiring = fixtureWiring({
      functions,
      queues: {
        Q: {
          logicalId: 'Q',
          consumer: { function: 'Transform', batchSize: 5, reportBatchItemFailures: true },
        },
      },
      routes: [
        fixtureRoute('B/0', { type: 'function', logicalId: 'Landing' }),
        fixtureRoute('B/1', { type: 'queue', logicalId: 'Q' }),
      ],
      apiFunction: 'Api',
    });
    expect(
      usedFunctions(wiring)
        .map((f) => f.logicalId)
        .sort(),
    ).toEqual(['Api', 'Landing', 'Transform', 'Unused']);
    const unknown = { ...functions, Unused: { ...functions.Unused, module: undefined } };
    expect(
      usedFunctions({ ...wiring, functions: unknown })
        .map((f) => f.logicalId)
        .sort(),
    ).toEqual(['Api', 'Landing', 'Transform']);
  });

  it('refuses a route to a function the template does not have', () => {
    const wiring = fixtureWiring({
      functions,
      routes: [fixtureRoute('B/0', { type: 'function', logicalId: 'Nope' })],
    });
    expect(() => usedFunctions(wiring)).toThrow('the template routes to Nope, which is not a function in it');
  });
});

describe('LocalFunctions', () => {
  const lines: string[] = [];
  const logs = new FunctionLogs((line) => lines.push(line));
  beforeAll(() => logs.install());
  afterAll(() => logs.uninstall());

  const load = (fn: WiredFunction) => {
    const functions = new LocalFunctions(
      fixtureWiring({ functions: { [fn.logicalId]: fn }, apiFunction: fn.logicalId }),
      NAMING,
      logs,
    );
    functions.load({ SOME: 'environment' });
    return functions;
  };

  it('invokes the handler with a Lambda context named <prefix>-<name>, its output in the function log', async () => {
    const functions = load(
      fixtureFunction('Echo', 'echo', { path: 'Ops/Echo/Function/Resource', memoryMb: 256 }),
    );
    const fn = functions.get('Echo');
    expect(functions.spec(fn)).toEqual({
      name: 'test-ops-echo',
      region: 'eu-west-1',
      accountId: '123456789012',
      memoryMb: 256,
    });
    expect(await functions.invoke(fn, { hello: 'world' })).toEqual({
      event: { hello: 'world' },
      functionName: 'test-ops-echo',
      arn: 'arn:aws:lambda:eu-west-1:123456789012:function:test-ops-echo',
    });
    const mine = lines.filter((l) => l.includes('\ttest-ops-echo\t'));
    expect(
      mine.map((l) =>
        l
          .split('\t')
          .slice(2)
          .join('\t')
          .replace(/RequestId: \S+/, 'RequestId: <id>'),
      ),
    ).toEqual([
      'START RequestId: <id> Version: $LATEST',
      expect.stringMatching(/^\S+\tINFO\techo \{"hello":"world"\}$/),
      'END RequestId: <id>',
      expect.stringMatching(/^REPORT RequestId: <id>\tDuration: \d+ ms$/),
    ]);
  });

  it('passes on what the handler throws', async () => {
    const functions = load(fixtureFunction('Echo', 'echo'));
    await expect(functions.invoke(functions.get('Echo'), { fail: 'boom' })).rejects.toThrow('boom');
  });

  it('refuses to load a function whose module is unknown, or that does not export its handler', () => {
    expect(() => load({ ...fixtureFunction('F', 'echo'), module: undefined })).toThrow(
      /no local handler module is known for function Test\/F\/Function\/Resource: add its entry to HANDLER_ENTRIES/,
    );
    expect(() => load(fixtureFunction('F', 'notAFunction'))).toThrow(
      `${FIXTURE_MODULE} exports no function 'notAFunction' (the handler of Test/F/Function/Resource)`,
    );
    expect(() => load(fixtureFunction('F', 'missing'))).toThrow(
      `${FIXTURE_MODULE} exports no function 'missing'`,
    );
  });

  it('refuses to invoke a function it did not load', async () => {
    const functions = new LocalFunctions(
      fixtureWiring({ functions: { F: fixtureFunction('F', 'echo') } }),
      NAMING,
      logs,
    );
    await expect(functions.invoke(functions.get('F'), {})).rejects.toThrow('is not loaded');
  });
});
