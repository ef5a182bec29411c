/**
 * The pipeline deploys as several stacks (the platform and one per domain) that reference each other
 * through exports. The local cloud runs them as one: their resources in one template, each
 * `Fn::ImportValue` replaced by the value the exporting stack's output gives it, so a domain's table
 * that names the platform's silver bucket resolves like any `Ref` of the platform's own resources.
 *
 * A stack's nested stacks (`AWS::CloudFormation::Stack`, their templates separate files of the assembly:
 * a domain's products' SLO alarms) are inlined likewise: their resources join the merged template, each
 * `Ref` to one of their parameters replaced by the value the parent passes, and each
 * `Fn::GetAtt [<nested stack>, Outputs.<name>]` in the parent by the value of that output.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Json = any;

/** A stack's synthesized template, with its name. */
export interface NamedTemplate {
  readonly stackName: string;
  readonly template: Json;
  /**
   * The templates of its nested stacks (and theirs), by the file name their `TemplateURL` ends with (the
   * asset's object key, `<hash>.json`). A nested stack whose template is not here stays as it is.
   * @default - none
   */
  readonly nestedTemplates?: Readonly<Record<string, Json>>;
}

/** The file name a nested stack's `TemplateURL` ends with: a string, or the last string of a `Fn::Join`. */
function templateKey(url: Json): string | undefined {
  const last = typeof url === 'string' ? url : url?.['Fn::Join']?.[1]?.at?.(-1);
  return typeof last === 'string' ? last.slice(last.lastIndexOf('/') + 1) : undefined;
}

/**
 * `value` with each `Ref` to one of a nested template's `parameters` replaced by the value its parent
 * passes (`passed`), or else the parameter's default.
 */
function bindParameters(
  value: Json,
  parameters: Record<string, Json>,
  passed: Record<string, Json>,
  stackName: string,
): Json {
  if (Array.isArray(value)) return value.map((v) => bindParameters(v, parameters, passed, stackName));
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Ref' && typeof value.Ref === 'string' && value.Ref in parameters) {
    if (value.Ref in passed) return passed[value.Ref];
    if ('Default' in parameters[value.Ref]) return parameters[value.Ref].Default;
    throw new Error(`nested stack ${stackName}: its parent passes no value for parameter ${value.Ref}`);
  }
  return Object.fromEntries(keys.map((k) => [k, bindParameters(value[k], parameters, passed, stackName)]));
}

/**
 * One template holding every stack's resources and outputs (an output name taken by an earlier stack is
 * kept as `<stack>:<name>`), imports resolved and nested stacks inlined (see the module comment; their
 * outputs are not kept). Throws on a logical id two stacks use (the merged template could not tell them
 * apart; a nested stack is named `<stack>/<its logical id>`), on an import no stack exports, and on a
 * nested stack's parameter given no value.
 */
export function mergeStackTemplates(stacks: readonly NamedTemplate[]): Json {
  const exports = new Map<string, Json>();
  const collectExports = (template: Json, nested: Readonly<Record<string, Json>>) => {
    for (const output of Object.values<Json>(template.Outputs ?? {})) {
      const name = output.Export?.Name;
      if (typeof name === 'string') exports.set(name, output.Value);
    }
    for (const r of Object.values<Json>(template.Resources ?? {})) {
      const key =
        r.Type === 'AWS::CloudFormation::Stack' ? templateKey(r.Properties?.TemplateURL) : undefined;
      if (key && nested[key]) collectExports(nested[key], nested);
    }
  };
  for (const { template, nestedTemplates } of stacks) collectExports(template, nestedTemplates ?? {});
  const resolveImports = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolveImports);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Fn::ImportValue') {
      const name = value['Fn::ImportValue'];
      if (typeof name !== 'string' || !exports.has(name))
        throw new Error(`no stack exports ${JSON.stringify(name)}`);
      return exports.get(name);
    }
    return Object.fromEntries(keys.map((k) => [k, resolveImports(value[k])]));
  };
  const resources: Record<string, Json> = {};
  const owner = new Map<string, string>();
  // The outputs of each inlined nested stack, by its logical id (unique in the merged template).
  const nestedOutputs = new Map<string, Record<string, Json>>();
  /** Adds the resources of `template` (a nested stack's when `passed`: its parameters bound to those). */
  const addResources = (
    stackName: string,
    template: Json,
    nested: Readonly<Record<string, Json>>,
    passed?: Record<string, Json>,
  ) => {
    const parameters: Record<string, Json> = passed ? (template.Parameters ?? {}) : {};
    const bind = (value: Json) => resolveImports(bindParameters(value, parameters, passed ?? {}, stackName));
    for (const [id, r] of Object.entries<Json>(template.Resources ?? {})) {
      // Every stack has its own CDK metadata: one is enough.
      if (r.Type === 'AWS::CDK::Metadata' && resources[id]) continue;
      const other = owner.get(id);
      if (other) throw new Error(`stacks ${other} and ${stackName} both declare the logical id ${id}`);
      owner.set(id, stackName);
      const key =
        r.Type === 'AWS::CloudFormation::Stack' ? templateKey(r.Properties?.TemplateURL) : undefined;
      const child = key === undefined ? undefined : nested[key];
      if (!child) {
        resources[id] = bind(r);
        continue;
      }
      const childName = `${stackName}/${id}`;
      const childPassed = bind(r.Properties.Parameters ?? {});
      addResources(childName, child, nested, childPassed);
      const outputs = Object.entries<Json>(child.Outputs ?? {}).map(([name, o]) => [
        name,
        resolveImports(bindParameters(o.Value, child.Parameters ?? {}, childPassed, childName)),
      ]);
      nestedOutputs.set(id, Object.fromEntries(outputs));
    }
  };
  const outputs: Record<string, Json> = {};
  for (const { stackName, template, nestedTemplates } of stacks) {
    addResources(stackName, template, nestedTemplates ?? {});
    for (const [id, o] of Object.entries<Json>(template.Outputs ?? {})) {
      outputs[outputs[id] === undefined ? id : `${stackName}:${id}`] = resolveImports(o);
    }
  }
  const resolveNestedOutputs = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(resolveNestedOutputs);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const att = value['Fn::GetAtt'];
      const [id, attribute] =
        typeof att === 'string' ? [att.slice(0, att.indexOf('.')), att.slice(att.indexOf('.') + 1)] : att;
      const outputsOf = nestedOutputs.get(id);
      if (outputsOf && typeof attribute === 'string' && attribute.startsWith('Outputs.')) {
        const name = attribute.slice('Outputs.'.length);
        if (!(name in outputsOf)) throw new Error(`nested stack ${id} has no output ${name}`);
        // An output may itself read another nested stack's output.
        return resolveNestedOutputs(outputsOf[name]);
      }
    }
    return Object.fromEntries(keys.map((k) => [k, resolveNestedOutputs(value[k])]));
  };
  return { Resources: resolveNestedOutputs(resources), Outputs: resolveNestedOutputs(outputs) };
}

/** A stack of a synthesized assembly, as far as {@link mergedTemplateOf} reads it. */
interface StackArtifact {
  readonly template: Json;
  /** Its asset manifest among them (`<stack>.assets.json`: `file`), which lists its nested templates. */
  readonly dependencies?: readonly object[];
}

/** A synthesized assembly, as far as {@link mergedTemplateOf} reads it. */
interface Assembly {
  getStackByName(name: string): StackArtifact;
}

/** The nested stacks' templates of a stack, by their asset's object key (see {@link NamedTemplate}). */
function nestedTemplatesOf(artifact: StackArtifact): Record<string, Json> {
  const templates: Record<string, Json> = {};
  for (const dependency of artifact.dependencies ?? []) {
    const file = 'file' in dependency ? dependency.file : undefined;
    if (typeof file !== 'string' || !file.endsWith('.assets.json')) continue;
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
      files?: Record<
        string,
        { source: { path?: string }; destinations: Record<string, { objectKey: string }> }
      >;
    };
    for (const asset of Object.values(manifest.files ?? {})) {
      const path = asset.source.path;
      if (!path?.endsWith('.nested.template.json')) continue;
      const template = JSON.parse(readFileSync(join(dirname(file), path), 'utf8'));
      for (const d of Object.values(asset.destinations)) templates[d.objectKey] = template;
    }
  }
  return templates;
}

/** The merged template (see {@link mergeStackTemplates}) of these stacks of a synthesized assembly. */
export function mergedTemplateOf(
  assembly: Assembly,
  stacks: readonly { readonly stackName: string }[],
): Json {
  return mergeStackTemplates(
    stacks.map((s) => {
      const artifact = assembly.getStackByName(s.stackName);
      return {
        stackName: s.stackName,
        template: artifact.template,
        nestedTemplates: nestedTemplatesOf(artifact),
      };
    }),
  );
}
