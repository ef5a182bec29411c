/**
 * The names the local cloud's metrics carry in their dimensions (`FunctionName`, `QueueName`,
 * `StateMachineArn`), and the resolution of the template's references to them: an alarm's dimension is a
 * CloudFormation reference (`Ref` of a function, `Fn::GetAtt` of a queue's `QueueName`, `Ref` of the gold
 * state machine; `Fn::ImportValue` is already resolved by `mergeStackTemplates`), resolved here to the
 * name the local cloud records under. Both sides use the functions below, so they cannot drift apart.
 *
 * Functions and queues are named `<prefix>-<logical id without its hash>`, as the local queues are
 * (`queue-consumers.ts`). Not the functions' log names (`local-functions.ts#localFunctionName`): those
 * call both the ingest API's function and the S3 landing function `landing`, and their metrics must not
 * add up. A function's on-failure destination (an SQS queue the template's `EventInvokeConfig` names)
 * has no local queue: the local cloud counts the function's failed asynchronous invocations, which is
 * what would be in that queue, under `<function's name>-on-failure`.
 */
import { goldStateMachineId } from '../gold/state-machine-definition';

/** The name of the gold workflow's local state machine (its executions' ARNs name it). */
export const LOCAL_GOLD_STATE_MACHINE = 'medallion-local-gold';

/** What names things locally: the local cloud's prefix, region and account. */
export interface LocalNaming {
  /** @default 'medallion-local' (the local cloud's bucket prefix) */
  readonly bucketPrefix?: string;
  /** @default 'us-east-1' (the gold runner's and the local cloud's default) */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
}

const DEFAULT_PREFIX = 'medallion-local';

/** A CDK logical id without the 8-character hash CDK appends to it. */
function withoutHash(logicalId: string): string {
  return logicalId.replace(/[0-9A-F]{8}$/, '');
}

/** The `FunctionName` dimension of a template function's local metrics. */
export function functionDimension(logicalId: string, naming: LocalNaming = {}): string {
  return `${naming.bucketPrefix ?? DEFAULT_PREFIX}-${withoutHash(logicalId)}`;
}

/** The `QueueName` dimension of a template queue's local metrics. */
export function queueDimension(logicalId: string, naming: LocalNaming = {}): string {
  return `${naming.bucketPrefix ?? DEFAULT_PREFIX}-${withoutHash(logicalId)}`;
}

/** The `QueueName` dimension of a function's on-failure destination, locally its failed async invocations. */
export function onFailureQueueDimension(functionLogicalId: string, naming: LocalNaming = {}): string {
  return `${functionDimension(functionLogicalId, naming)}-on-failure`;
}

/** The ARN of the gold workflow's local state machine (its `StateMachineArn` dimension). */
export function goldStateMachineArn(naming: LocalNaming = {}): string {
  return `arn:aws:states:${naming.region ?? 'us-east-1'}:${naming.accountId ?? '000000000000'}:stateMachine:${LOCAL_GOLD_STATE_MACHINE}`;
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Json = any;

/** A dimension value resolved to its local name, or why it cannot be. */
export type ResolvedName = { readonly value: string } | { readonly unsupported: string };

/** What a queue is for, as far as the local cloud records its depth. */
export type QueueRole =
  | { readonly kind: 'dead-letter'; readonly source: string }
  | { readonly kind: 'on-failure'; readonly function: string }
  | { readonly kind: 'other' };

/** The template's references resolved to the local cloud's names. */
export class TemplateNames {
  private readonly resources: Record<string, Json>;
  private readonly queueRoles = new Map<string, QueueRole>();
  private goldId: string | null | undefined;

  constructor(
    private readonly template: { Resources: Record<string, Json> },
    private readonly naming: LocalNaming = {},
  ) {
    this.resources = template.Resources ?? {};
    const getAttOf = (v: Json): string | undefined =>
      v && Array.isArray(v['Fn::GetAtt']) ? String(v['Fn::GetAtt'][0]) : undefined;
    const refOf = (v: Json): string | undefined => (v && typeof v.Ref === 'string' ? v.Ref : undefined);
    for (const [id, r] of Object.entries(this.resources)) {
      if (r.Type === 'AWS::SQS::Queue') {
        const target = getAttOf(r.Properties?.RedrivePolicy?.deadLetterTargetArn);
        if (target) this.queueRoles.set(target, { kind: 'dead-letter', source: id });
      }
      if (r.Type === 'AWS::Lambda::EventInvokeConfig') {
        const destination = getAttOf(r.Properties?.DestinationConfig?.OnFailure?.Destination);
        const fn = refOf(r.Properties?.FunctionName) ?? getAttOf(r.Properties?.FunctionName);
        if (destination && fn && this.resources[destination]?.Type === 'AWS::SQS::Queue')
          this.queueRoles.set(destination, { kind: 'on-failure', function: fn });
      }
    }
  }

  /** What the queue of a logical id is for (the local cloud records dead-letter and on-failure depths). */
  queueRole(logicalId: string): QueueRole {
    return this.queueRoles.get(logicalId) ?? { kind: 'other' };
  }

  /** The local name a dimension's value (a string or a CloudFormation reference) stands for. */
  resolve(value: unknown): ResolvedName {
    if (typeof value === 'string') return { value };
    const v = value as Json;
    if (v && typeof v === 'object' && typeof v.Ref === 'string') return this.ref(v.Ref);
    if (v && typeof v === 'object' && Array.isArray(v['Fn::GetAtt'])) {
      const [id, attribute] = v['Fn::GetAtt'].map(String);
      return this.getAtt(id, attribute);
    }
    return { unsupported: `cannot resolve ${JSON.stringify(value)} to a local name` };
  }

  private ref(id: string): ResolvedName {
    const type = this.resources[id]?.Type;
    switch (type) {
      case 'AWS::Lambda::Function':
        return { value: functionDimension(id, this.naming) };
      case 'AWS::StepFunctions::StateMachine':
        return id === this.goldStateMachine()
          ? { value: goldStateMachineArn(this.naming) }
          : { unsupported: `state machine ${id} is not the gold workflow: it does not run locally` };
      default:
        return { unsupported: `Ref of ${id} (${type ?? 'not in the template'}) has no local name` };
    }
  }

  private getAtt(id: string, attribute: string): ResolvedName {
    const type = this.resources[id]?.Type;
    if (type === 'AWS::SQS::Queue' && attribute === 'QueueName') {
      const role = this.queueRole(id);
      return {
        value:
          role.kind === 'on-failure'
            ? onFailureQueueDimension(role.function, this.naming)
            : queueDimension(id, this.naming),
      };
    }
    return {
      unsupported: `Fn::GetAtt ${id}.${attribute} (${type ?? 'not in the template'}) has no local name`,
    };
  }

  private goldStateMachine(): string | null {
    if (this.goldId === undefined) {
      try {
        this.goldId = goldStateMachineId(this.template as Parameters<typeof goldStateMachineId>[0]);
      } catch {
        this.goldId = null;
      }
    }
    return this.goldId;
  }
}
