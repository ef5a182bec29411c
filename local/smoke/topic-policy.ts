/**
 * Whether a topic policy lets CloudWatch alarms publish to the alarm topic: the same evaluation for the
 * deployed topic (GetTopicAttributes' `Policy`) and the synthesized one (the template's
 * `AWS::SNS::TopicPolicy`, its tokens resolved).
 *
 * The policy is evaluated as IAM evaluates a resource policy for two requests CloudWatch would make: an
 * alarm of the topic's own account publishing (must be allowed: some Allow statement matches and no Deny
 * does), and an alarm of another account publishing (must NOT be allowed: an Allow without
 * `aws:SourceAccount`/`aws:SourceArn` conditions lets any account's alarms use the topic, the confused
 * deputy AWS documents). Only what these requests need is modelled: principals, actions, resources, and the
 * string, ARN, Bool and Null condition operators; a statement with an operator not modelled here counts as
 * not matching when it allows and as matching when it denies, so the verdict errs towards "not allowed".
 */

/** The topic and the account and region its alarms live in. */
export interface TopicContext {
  readonly topicArn: string;
  readonly account: string;
  readonly region: string;
  /** Default `aws`. */
  readonly partition?: string;
  /** The alarm the probe request comes from; default `medallion-smoke-probe` (any alarm of the account). */
  readonly alarmName?: string;
}

export interface PolicyVerdict {
  readonly ok: boolean;
  /** One line: which statement allows the publish, or why it is not allowed. */
  readonly reason: string;
}

const CLOUDWATCH = 'cloudwatch.amazonaws.com';
const PUBLISH = 'sns:Publish';

type Statement = Record<string, unknown>;

/** A request as IAM sees it: who, what, on which resource, and the request's condition keys. */
interface Request {
  readonly service: string;
  readonly action: string;
  readonly resource: string;
  /** Condition keys, lower-cased, to their value. */
  readonly context: Readonly<Record<string, string>>;
}

type Decision =
  | { readonly effect: 'allow'; readonly sid: string }
  | { readonly effect: 'deny'; readonly sid: string }
  | { readonly effect: 'none' };

/** Evaluates `policy` (a JSON string or the parsed document) for CloudWatch alarms publishing to the topic. */
export function topicAllowsCloudWatchAlarms(policy: unknown, topic: TopicContext): PolicyVerdict {
  const statements = statementsOf(policy);
  if (typeof statements === 'string') return { ok: false, reason: statements };
  const partition = topic.partition ?? 'aws';
  const alarm = topic.alarmName ?? 'medallion-smoke-probe';
  const from = (account: string): Request => ({
    service: CLOUDWATCH,
    action: PUBLISH,
    resource: topic.topicArn,
    context: {
      'aws:sourceaccount': account,
      'aws:sourceowner': account,
      'aws:sourcearn': `arn:${partition}:cloudwatch:${topic.region}:${account}:alarm:${alarm}`,
      'aws:securetransport': 'true',
    },
  });

  const own = evaluate(statements, from(topic.account));
  if (own.effect === 'deny') {
    return { ok: false, reason: `statement ${label(own.sid)} denies CloudWatch alarms sns:Publish` };
  }
  if (own.effect === 'none') return { ok: false, reason: whyNotAllowed(statements, from(topic.account)) };

  const foreignAccount = topic.account === '111111111111' ? '222222222222' : '111111111111';
  const foreign = evaluate(statements, from(foreignAccount));
  if (foreign.effect === 'allow') {
    return {
      ok: false,
      reason:
        `statement ${label(foreign.sid)} also lets other accounts' alarms publish: ` +
        'scope it with aws:SourceAccount and aws:SourceArn conditions',
    };
  }
  return {
    ok: true,
    reason: `statement ${label(own.sid)} allows alarms of ${topic.account} in ${topic.region} to publish; other accounts' are refused`,
  };
}

/** The statements of a policy, or why there are none to read. */
function statementsOf(policy: unknown): Statement[] | string {
  let document = policy;
  if (policy === undefined || policy === null || policy === '') return 'the topic has no policy';
  if (typeof policy === 'string') {
    try {
      document = JSON.parse(policy);
    } catch (e) {
      return `the topic policy is not JSON: ${(e as Error).message}`;
    }
  }
  const statement = (document as { Statement?: unknown } | null)?.Statement;
  if (statement === undefined) return 'the topic policy has no Statement';
  const list = Array.isArray(statement) ? statement : [statement];
  return list.filter((s): s is Statement => typeof s === 'object' && s !== null);
}

/** IAM's order: an explicit Deny wins, then an Allow, else the request is implicitly denied. */
function evaluate(statements: Statement[], request: Request): Decision {
  let allowedBy: string | undefined;
  for (const [i, s] of statements.entries()) {
    const effect = String(s.Effect ?? '').toLowerCase();
    const sid = typeof s.Sid === 'string' && s.Sid ? s.Sid : `#${i + 1}`;
    if (!appliesTo(s, request)) continue;
    const conditions = conditionsHold(s.Condition, request.context);
    if (effect === 'deny' && conditions !== false) return { effect: 'deny', sid };
    if (effect === 'allow' && conditions === true) allowedBy ??= sid;
  }
  return allowedBy === undefined ? { effect: 'none' } : { effect: 'allow', sid: allowedBy };
}

/** Why no statement allows the request: the closest one's failing conditions, or what is missing. */
function whyNotAllowed(statements: Statement[], request: Request): string {
  const near = statements.find(
    (s) => String(s.Effect ?? '').toLowerCase() === 'allow' && appliesTo(s, request),
  );
  if (near) {
    const failing = failingConditionKeys(near.Condition, request.context);
    return `statement ${label(String(near.Sid ?? ''))} allows CloudWatch only when ${failing.join(', ') || 'its conditions'} match, which alarms of ${request.context['aws:sourceaccount']} do not (${request.context['aws:sourcearn']})`;
  }
  return `no statement allows ${CLOUDWATCH} to ${PUBLISH} to ${request.resource}`;
}

function label(sid: string): string {
  return sid ? `'${sid}'` : '(no Sid)';
}

/** Principal, action and resource match (conditions aside). */
function appliesTo(s: Statement, r: Request): boolean {
  const principal =
    s.Principal !== undefined
      ? principalMatches(s.Principal, r.service)
      : s.NotPrincipal !== undefined && !principalMatches(s.NotPrincipal, r.service);
  if (!principal) return false;
  const action =
    s.Action !== undefined
      ? strings(s.Action).some((p) => glob(p, true).test(r.action))
      : s.NotAction !== undefined && !strings(s.NotAction).some((p) => glob(p, true).test(r.action));
  if (!action) return false;
  if (s.Resource !== undefined) return strings(s.Resource).some((p) => glob(p, false).test(r.resource));
  if (s.NotResource !== undefined)
    return !strings(s.NotResource).some((p) => glob(p, false).test(r.resource));
  return true;
}

/** `*`, `{ AWS: '*' }` (everyone, services included) or `{ Service: <the service> }`. */
function principalMatches(principal: unknown, service: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  const p = principal as Record<string, unknown>;
  if (p.AWS !== undefined && strings(p.AWS).includes('*')) return true;
  return p.Service !== undefined && strings(p.Service).some((s) => s.toLowerCase() === service);
}

/** true: every condition holds; false: one does not; undefined: an operator not modelled decides. */
function conditionsHold(condition: unknown, context: Request['context']): boolean | undefined {
  if (condition === undefined) return true;
  if (typeof condition !== 'object' || condition === null) return undefined;
  let unknown = false;
  for (const [operator, entries] of Object.entries(condition as Record<string, unknown>)) {
    if (typeof entries !== 'object' || entries === null) return undefined;
    for (const [key, values] of Object.entries(entries as Record<string, unknown>)) {
      const holds = conditionHolds(operator, strings(values), context[key.toLowerCase()]);
      if (holds === false) return false;
      if (holds === undefined) unknown = true;
    }
  }
  return unknown ? undefined : true;
}

function failingConditionKeys(condition: unknown, context: Request['context']): string[] {
  if (typeof condition !== 'object' || condition === null) return [];
  const keys: string[] = [];
  for (const [operator, entries] of Object.entries(condition as Record<string, unknown>)) {
    for (const [key, values] of Object.entries((entries ?? {}) as Record<string, unknown>)) {
      if (conditionHolds(operator, strings(values), context[key.toLowerCase()]) !== true)
        keys.push(`${operator} ${key}`);
    }
  }
  return keys;
}

const MODELLED_OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Bool',
  'Null',
]);

/** One condition (operator, key, values) against the request's value of the key; undefined: not modelled. */
function conditionHolds(operator: string, values: string[], actual: string | undefined): boolean | undefined {
  // Multi-valued qualifiers: the keys here are single-valued, for which ForAnyValue is the plain operator.
  const unqualified = operator.replace(/^(ForAnyValue|ForAllValues):/i, '');
  const ifExists = /IfExists$/i.test(unqualified);
  const base = unqualified.replace(/IfExists$/i, '');
  if (!MODELLED_OPERATORS.has(base)) return undefined;
  const negated = /^(StringNot|ArnNot)/.test(base);
  if (base === 'Null')
    return values.some((v) => v.toLowerCase() === (actual === undefined ? 'true' : 'false'));
  if (actual === undefined) return ifExists || negated;
  switch (base) {
    case 'StringEquals':
      return values.includes(actual);
    case 'StringNotEquals':
      return !values.includes(actual);
    case 'StringEqualsIgnoreCase':
      return values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'StringNotEqualsIgnoreCase':
      return !values.some((v) => v.toLowerCase() === actual.toLowerCase());
    case 'StringLike':
    case 'ArnLike':
    case 'ArnEquals':
      return values.some((v) => glob(v, false).test(actual));
    case 'StringNotLike':
    case 'ArnNotLike':
    case 'ArnNotEquals':
      return !values.some((v) => glob(v, false).test(actual));
    case 'Bool':
      return values.some((v) => v.toLowerCase() === actual.toLowerCase());
    default:
      return undefined;
  }
}

/** A policy value (a string, a list, a boolean or a number) as strings. */
function strings(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value])
    .filter((v) => v !== undefined && v !== null)
    .map((v) => String(v));
}

/** A policy wildcard pattern (`*` any run of characters, `?` one) as a whole-value regular expression. */
function glob(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}
