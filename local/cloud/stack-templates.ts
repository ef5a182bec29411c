/**
 * The pipeline deploys as several stacks (the platform and one per domain) that reference each other
 * through exports. The local cloud runs them as one: their resources in one template, each
 * `Fn::ImportValue` replaced by the value the exporting stack's output gives it, so a domain's table
 * that names the platform's silver bucket resolves like any `Ref` of the platform's own resources.
 */

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Json = any;

/** A stack's synthesized template, with its name. */
export interface NamedTemplate {
  readonly stackName: string;
  readonly template: Json;
}

/**
 * One template holding every stack's resources and outputs (an output name taken by an earlier stack is
 * kept as `<stack>:<name>`), imports resolved. Throws on a logical id two stacks use (the merged template
 * could not tell them apart) and on an import no stack exports.
 */
export function mergeStackTemplates(stacks: readonly NamedTemplate[]): Json {
  const exports = new Map<string, Json>();
  for (const { template } of stacks) {
    for (const output of Object.values<Json>(template.Outputs ?? {})) {
      const name = output.Export?.Name;
      if (typeof name === 'string') exports.set(name, output.Value);
    }
  }
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
  const outputs: Record<string, Json> = {};
  for (const { stackName, template } of stacks) {
    for (const [id, r] of Object.entries<Json>(template.Resources ?? {})) {
      // Every stack has its own CDK metadata: one is enough.
      if (r.Type === 'AWS::CDK::Metadata' && resources[id]) continue;
      const other = owner.get(id);
      if (other) throw new Error(`stacks ${other} and ${stackName} both declare the logical id ${id}`);
      owner.set(id, stackName);
      resources[id] = resolveImports(r);
    }
    for (const [id, o] of Object.entries<Json>(template.Outputs ?? {})) {
      outputs[outputs[id] === undefined ? id : `${stackName}:${id}`] = resolveImports(o);
    }
  }
  return { Resources: resources, Outputs: outputs };
}

/** A synthesized assembly, as far as {@link mergedTemplateOf} reads it. */
interface Assembly {
  getStackByName(name: string): { readonly template: Json };
}

/** The merged template (see {@link mergeStackTemplates}) of these stacks of a synthesized assembly. */
export function mergedTemplateOf(
  assembly: Assembly,
  stacks: readonly { readonly stackName: string }[],
): Json {
  return mergeStackTemplates(
    stacks.map((s) => ({ stackName: s.stackName, template: assembly.getStackByName(s.stackName).template })),
  );
}
