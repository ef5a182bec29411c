/**
 * A small offline evaluator of IAM identity policies, for template tests: does this role's policy allow this
 * action on this resource? It follows the IAM policy evaluation logic for one principal's identity policies
 * (an explicit Deny wins, then an Allow, else the implicit deny):
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 *
 * Supported: Action / NotAction and Resource / NotResource with the `*` and `?` wildcards (actions
 * case-insensitive, resources case-sensitive:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html), and the
 * String condition operators (StringEquals, StringNotEquals, StringLike, StringNotLike), which is what the
 * lake's policies use (`s3:prefix` on ListBucket, `kms:ViaService`). Any other operator throws instead of
 * guessing. Not modelled: resource policies, SCPs, permission boundaries, sessions, policy variables.
 *
 * CloudFormation tokens are rendered as cdk-nag names them (`<LogicalId.Arn>`, `<LogicalId>`,
 * `<AWS::Region>`), so a request names a bucket's objects as `<StorageSilverXXXX.Arn>/retail/orders/x`.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { flattenReference } from '../../lib/nag';

/** A policy statement as a synthesized template holds it (values may still be CloudFormation tokens). */
export interface PolicyStatementJson {
  Effect: 'Allow' | 'Deny' | string;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
}

export type Decision = 'Allow' | 'ImplicitDeny' | 'ExplicitDeny';

/** One request: an action on a resource, with the condition keys it carries (`s3:prefix` of a ListBucket). */
export interface AccessRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A value of the template as a string: tokens rendered as `<LogicalId.Attr>` / `<LogicalId>`. */
export function renderToken(value: unknown): string {
  return typeof value === 'string' ? value : flattenReference(value);
}

/** IAM's wildcard match: `*` any run of characters (`/` included), `?` any one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const body = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'is' : 's').test(value);
}

function matchesAny(patterns: unknown, value: string, ignoreCase: boolean): boolean {
  return list(patterns).some((p) => wildcardMatch(renderToken(p), value, ignoreCase));
}

/** Whether the statement's Condition block holds for the request (every operator, every key: AND). */
function conditionHolds(
  condition: PolicyStatementJson['Condition'],
  context: Record<string, string>,
): boolean {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) {
      const values = list(expected).map(renderToken);
      // Condition keys are case-insensitive; their values are not (for these operators).
      const actualKey = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
      const actual = actualKey === undefined ? undefined : context[actualKey];
      let holds: boolean;
      switch (operator) {
        case 'StringEquals':
          holds = actual !== undefined && values.includes(actual);
          break;
        case 'StringLike':
          holds = actual !== undefined && values.some((v) => wildcardMatch(v, actual));
          break;
        // A negated operator holds when the key is absent.
        case 'StringNotEquals':
          holds = actual === undefined || !values.includes(actual);
          break;
        case 'StringNotLike':
          holds = actual === undefined || !values.some((v) => wildcardMatch(v, actual));
          break;
        default:
          throw new Error(`condition operator ${operator} is not supported by the test evaluator`);
      }
      if (!holds) return false;
    }
  }
  return true;
}

/** Whether one statement applies to the request (action, resource and condition all match). */
export function statementApplies(statement: PolicyStatementJson, request: AccessRequest): boolean {
  const action =
    statement.NotAction !== undefined
      ? !matchesAny(statement.NotAction, request.action, true)
      : matchesAny(statement.Action, request.action, true);
  if (!action) return false;
  const resource =
    statement.NotResource !== undefined
      ? !matchesAny(statement.NotResource, request.resource, false)
      : matchesAny(statement.Resource, request.resource, false);
  return resource && conditionHolds(statement.Condition, { ...request.context });
}

/** The decision of these identity policy statements on one request. */
export function evaluate(statements: readonly PolicyStatementJson[], request: AccessRequest): Decision {
  const applying = statements.filter((s) => statementApplies(s, request));
  if (applying.some((s) => s.Effect === 'Deny')) return 'ExplicitDeny';
  return applying.some((s) => s.Effect === 'Allow') ? 'Allow' : 'ImplicitDeny';
}

/**
 * Whether the statements allow `action` on every one of `resources`: what a service checks when an action
 * needs several resources at once (a Glue GetTable needs the catalog, the database and the table).
 */
export function allowsAll(
  statements: readonly PolicyStatementJson[],
  action: string,
  resources: readonly string[],
  context?: Record<string, string>,
): boolean {
  return resources.every((resource) => evaluate(statements, { action, resource, context }) === 'Allow');
}

/**
 * Every identity policy statement of the role with this logical id: its inline `Policies`, the
 * `AWS::IAM::Policy` resources naming it, and the managed policies it is given (by `Roles` on the policy or
 * `ManagedPolicyArns` on the role). AWS managed policies (ARNs outside the template) are refused.
 */
export function roleIdentityStatements(template: Template, roleId: string): PolicyStatementJson[] {
  const role = template.findResources('AWS::IAM::Role')[roleId];
  if (!role) throw new Error(`no role ${roleId} in the template`);
  const out: PolicyStatementJson[] = [];
  for (const p of role.Properties.Policies ?? []) out.push(...(p.PolicyDocument.Statement ?? []));
  const names = (roles: unknown) => list(roles).some((r) => renderToken(r) === `<${roleId}>`);
  for (const p of Object.values(template.findResources('AWS::IAM::Policy'))) {
    if (names(p.Properties.Roles)) out.push(...(p.Properties.PolicyDocument.Statement ?? []));
  }
  const managed = template.findResources('AWS::IAM::ManagedPolicy');
  const attached = new Set(list(role.Properties.ManagedPolicyArns).map(renderToken));
  for (const arn of attached) {
    if (!managed[arn.slice(1, -1)])
      throw new Error(`role ${roleId} has a managed policy outside the template: ${arn}`);
  }
  for (const [id, p] of Object.entries(managed)) {
    if (names(p.Properties.Roles) || attached.has(`<${id}>`)) {
      out.push(...(p.Properties.PolicyDocument.Statement ?? []));
    }
  }
  return out;
}
