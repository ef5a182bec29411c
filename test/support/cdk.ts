/** Shared by the construct tests: the app's real context, without asset bundling, and template helpers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '../../lib/config';

/** The feature flags and settings of cdk.json, so tests build what `cdk synth` builds. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}

/** cdk.json's context, asset bundling skipped (the bundling test turns it back on), plus `extra`. */
export function testContext(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...extra };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement of every identity policy in the template (inline role policies included). */
export function identityStatements(template: Template): { resource: string; statement: Statement }[] {
  const out: { resource: string; statement: Statement }[] = [];
  const add = (resource: string, doc: { Statement?: Statement[] } | undefined) => {
    for (const statement of doc?.Statement ?? []) out.push({ resource, statement });
  };
  // Managed policies too: CDK moves statements that overflow a role's inline policy into them.
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [id, r] of Object.entries(template.findResources(type))) add(id, r.Properties.PolicyDocument);
  }
  for (const [id, r] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const p of r.Properties.Policies ?? []) add(id, p.PolicyDocument);
  }
  return out;
}

export const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The logical id of the single resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1)
    throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ')}`);
  return ids[0];
}

/** The statements of one identity policy whose logical id starts with `prefix`. */
export function policyStatements(template: Template, prefix: string): Statement[] {
  const id = logicalId(template, 'AWS::IAM::Policy', prefix);
  return template.findResources('AWS::IAM::Policy')[id].Properties.PolicyDocument.Statement;
}

/**
 * Every statement a role gets from policies: its inline `<role>DefaultPolicy...` and the managed policies CDK
 * moves the overflow into (`OverflowPolicyN`, attached to the role).
 */
export function roleStatements(template: Template, rolePrefix: string): Statement[] {
  const role = logicalId(template, 'AWS::IAM::Role', rolePrefix);
  const attached = (roles: unknown) =>
    asArray((roles ?? []) as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: role }));
  const out: Statement[] = [];
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const r of Object.values(template.findResources(type))) {
      if (attached(r.Properties.Roles)) out.push(...(r.Properties.PolicyDocument.Statement ?? []));
    }
  }
  return out;
}

/** An ASL definition, as the tests inspect it. */
export interface Definition {
  StartAt: string;
  // biome-ignore lint/suspicious/noExplicitAny: the tests check the shape of the states themselves
  States: Record<string, Record<string, any>>;
  QueryLanguage?: string;
}

/**
 * The definition of the template's only state machine, its CloudFormation tokens replaced by
 * placeholders: the partition by `aws`, a `Ref` by `ref-<logical id>`, a `Fn::GetAtt` by a placeholder ARN.
 */
export function definitionOf(template: Template): Definition {
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const body = machines[0].Properties.DefinitionString as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof body === 'string') return JSON.parse(body);
  const text = body['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const o = part as Record<string, unknown>;
      if (o.Ref === 'AWS::Partition') return 'aws';
      if (typeof o.Ref === 'string') return `ref-${o.Ref.toLowerCase()}`;
      if (Array.isArray(o['Fn::GetAtt'])) return `arn:aws:placeholder:::${o['Fn::GetAtt'].join('.')}`;
      throw new Error(`unexpected token in the definition: ${JSON.stringify(part)}`);
    })
    .join('');
  return JSON.parse(text);
}
