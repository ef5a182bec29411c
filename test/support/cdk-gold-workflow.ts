/**
 * The gold tests' shared fixture: the 3-model workflow (b reads a, c reads a and b) built on the lake's
 * storage with an encrypted alarm topic, and helpers to read its definition and its IAM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { GoldModel } from '../../core/gold/models';
import { GoldWorkflow, type GoldWorkflowProps } from '../../lib/gold/gold-workflow';
import { LakeStorage } from '../../lib/lake-storage';
import { asArray, definitionOf, identityStatements, logicalId, testContext } from './cdk';

const FIXTURES = join(__dirname, '..', 'lib', 'gold', 'fixtures', 'gold');
export const sql = (name: string) => readFileSync(join(FIXTURES, `${name}.sql`), 'utf8');
/** The 3-model fixture: b reads a, c reads a and b. */
export const MODELS: GoldModel[] = [
  { name: 'c', sql: sql('c'), dependsOn: ['a', 'b'] },
  { name: 'a', sql: sql('a'), dependsOn: [] },
  { name: 'b', sql: sql('b'), dependsOn: ['a'] },
];
export const DATABASE = 'medallion_test';
export const WORKGROUP = 'medallion-test';

export const names = (waves: GoldModel[][]) => waves.map((w) => w.map((x) => x.name));

export interface Built {
  app: App;
  stack: Stack;
  workflow: GoldWorkflow;
  template: () => Template;
}

/**
 * The fixture workflow; `extra` overrides its props, or builds them in its stack (e.g. a function the
 * workflow invokes).
 */
export function build(
  extra:
    | Partial<GoldWorkflowProps>
    | ((stack: Stack, storage: LakeStorage) => Partial<GoldWorkflowProps>) = {},
  outdir?: string,
): Built {
  const app = new App({ context: testContext(), outdir });
  const stack = new Stack(app, 'Test', { env: { account: '111111111111', region: 'eu-west-1' } });
  const storage = new LakeStorage(stack, 'Storage');
  const alarmTopic = new sns.Topic(stack, 'Alarms', { enforceSSL: true, masterKey: storage.key });
  const overrides = typeof extra === 'function' ? extra(stack, storage) : extra;
  const workflow = new GoldWorkflow(stack, 'Gold', {
    database: DATABASE,
    workGroup: WORKGROUP,
    goldBucket: storage.goldBucket,
    silverBucket: storage.silverBucket,
    resultsBucket: storage.athenaResultsBucket,
    key: storage.key,
    alarmTopic,
    models: MODELS,
    ...overrides,
  });
  let template: Template | undefined;
  return { app, stack, workflow, template: () => (template ??= Template.fromStack(stack)) };
}

/** Untyped JSON read by the assertions (ASL states, task parameters): the tests check its shape. */
// biome-ignore lint/suspicious/noExplicitAny: one alias for all the definition JSON the tests inspect
export type Json = any;
export type State = Record<string, Json>;

/** The states of a branch in execution order (Choice: every target once, then where they meet). */
export function walk(states: Record<string, State>, start: string): string[] {
  const order: string[] = [];
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (order.includes(name)) continue;
    order.push(name);
    const s = states[name];
    if (s.Type === 'Choice') queue.push(...s.Choices.map((c: State) => c.Next), s.Default);
    else if (s.Next) queue.push(s.Next);
  }
  return order;
}

/** Every state of the definition, branches included, with the States map it belongs to. */
export function allStates(def: {
  States: Record<string, State>;
}): { name: string; state: State; scope: Record<string, State> }[] {
  const out: { name: string; state: State; scope: Record<string, State> }[] = [];
  for (const [name, state] of Object.entries(def.States)) {
    out.push({ name, state, scope: def.States });
    for (const b of state.Branches ?? []) out.push(...allStates(b));
  }
  return out;
}

/** The default workflow synthesized, its definition, and its states by name. */
export function synthesizedWorkflow() {
  const built = build();
  const t = built.template();
  const def = definitionOf(t);
  const states = allStates(def);
  const byName = (name: string) => {
    const found = states.find((s) => s.name === name);
    if (!found) throw new Error(`no state ${name}`);
    return found;
  };
  return { built, t, def, states, byName };
}

/** The statements of the state machine role's policy, and lookups over them. */
export function workflowIam(t: Template) {
  const statements = identityStatements(t);
  const roleId = logicalId(t, 'AWS::IAM::Role', 'GoldStateMachineRole');
  const policyId = logicalId(t, 'AWS::IAM::Policy', 'GoldStateMachineRoleDefaultPolicy');
  const mine = statements.filter((s) => s.resource === policyId).map((s) => s.statement);
  const actionsOn = (predicate: (resource: string) => boolean) =>
    new Set(
      mine.flatMap((s) =>
        asArray(s.Resource).some((r) => predicate(JSON.stringify(r))) ? asArray(s.Action) : [],
      ),
    );
  const resourcesOf = (action: string) =>
    mine
      .filter((s) => asArray(s.Action).includes(action))
      .flatMap((s) => asArray(s.Resource).map((r) => JSON.stringify(r)));
  return { statements, roleId, mine, actionsOn, resourcesOf };
}
