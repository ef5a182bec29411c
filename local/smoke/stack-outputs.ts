/**
 * The stack outputs `medallion smoke` works from, read from what `cdk deploy --outputs-file <file>` writes:
 * `{ "<stack>": { "<Output>": "<value>" } }`. The local target writes the same file for the local cloud,
 * so both targets go through this reader. Every problem is a usage error naming the file and the fix.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PipelineUsageError } from '../../core/errors';
import { displayPath } from '../report/display-path';

/** The outputs the smoke needs (the CfnOutputs of lib/medallion-stack.ts). */
export const REQUIRED_OUTPUTS = [
  'RecordsUrl',
  'LandingBucketName',
  'BronzeBucketName',
  'SilverBucketName',
  'GlueDatabaseName',
  'AthenaWorkGroupName',
  'AlarmTopicArn',
  'GoldStateMachineArn',
] as const;

export type RequiredOutput = (typeof REQUIRED_OUTPUTS)[number];

/** The outputs of one stack: the required ones, and any other the file holds. */
export type StackOutputs = Readonly<Record<RequiredOutput, string>> & Readonly<Record<string, string>>;

/** What each required output needs, when a deployment lacks it. */
const MISSING_HINTS: Partial<Record<RequiredOutput, string>> = {
  GoldStateMachineArn:
    'the stack has no gold workflow: deploy it with gold models (gold.enabled, gold.modelsDir)',
};

/**
 * The outputs of `stack` in `file`; without `stack`, of the one stack the file holds, or the one of its
 * stacks with every output the smoke needs (the platform's, next to its domains' stacks). Throws a
 * `PipelineUsageError` naming the file for a missing or unreadable file, an unknown stack or a missing output.
 */
export function readStackOutputs(file: string, stack?: string): { stack: string; outputs: StackOutputs } {
  const shown = displayPath(file);
  const deployHint = `run \`npx cdk deploy --outputs-file ${shown}\` (or pass the file it wrote)`;
  if (!existsSync(file)) throw new PipelineUsageError(`outputs file ${shown} does not exist: ${deployHint}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new PipelineUsageError(
      `outputs file ${shown} is not JSON (${(e as Error).message.split('\n')[0]}): ${deployHint}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PipelineUsageError(
      `outputs file ${shown} is not { "<stack>": { "<Output>": value } }: ${deployHint}`,
    );
  }
  const stacks = parsed as Record<string, unknown>;
  const names = Object.keys(stacks);
  const known = names.length > 0 ? names.join(', ') : 'none';
  let name = stack;
  if (name === undefined) {
    // `cdk deploy --all` writes the domains' stacks too: the platform stack is the one with the outputs.
    const platforms = names.filter((n) => REQUIRED_OUTPUTS.every((o) => hasValue(stacks[n], o)));
    const candidates = names.length === 1 ? names : platforms;
    if (candidates.length !== 1) {
      throw new PipelineUsageError(
        `outputs file ${shown} holds ${names.length} stacks (${known}): choose one with --stack`,
      );
    }
    name = candidates[0];
  }
  const raw = stacks[name];
  if (typeof raw !== 'object' || raw === null) {
    throw new PipelineUsageError(
      `outputs file ${shown} has no stack ${name} (stacks: ${known}): pass --stack with one of them, or deploy ${name} with --outputs-file`,
    );
  }
  const outputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number') outputs[k] = String(v);
  }
  const missing = REQUIRED_OUTPUTS.filter((o) => !outputs[o]);
  if (missing.length > 0) {
    const hints = missing.map((o) => MISSING_HINTS[o]).filter((h) => h !== undefined);
    throw new PipelineUsageError(
      `stack ${name} in ${shown} has no output ${missing.join(', ')}: ` +
        (hints.length > 0 ? `${hints.join('; ')}, then ` : 'redeploy the current stack, then ') +
        `write the file again with \`npx cdk deploy ${name} --outputs-file ${shown}\``,
    );
  }
  return { stack: name, outputs: outputs as StackOutputs };
}

function hasValue(outputs: unknown, name: string): boolean {
  const value = (outputs as Record<string, unknown> | null)?.[name];
  return typeof value === 'string' && value !== '';
}

/** Writes `{ "<stack>": outputs }` as `cdk deploy --outputs-file` does. */
export function writeStackOutputs(file: string, stack: string, outputs: Record<string, string>): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ [stack]: outputs }, null, 2)}\n`);
}
