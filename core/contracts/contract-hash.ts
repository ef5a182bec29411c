/**
 * The hash of a data contract: which version of its contract a dataset's silver was built under.
 *
 * It is the SHA-256 of the contract's canonical content, not of its file: the contract as parsed (zod
 * defaults filled in, column types parsed), with object keys sorted and array order kept, written as JSON.
 * So reformatting the YAML, reordering its keys, adding comments, quoting differently, spelling a default
 * out (`required: false`) or spacing a type (`decimal(10, 2)`) changes nothing; any rule, column, type,
 * source option, key or partition change does.
 *
 * Left out, because they cannot change what silver holds (so editing them asks for no rebuild): where the
 * contract was read from (`file`, and `id`, derived from domain and dataset), the descriptive fields
 * (`description` of the dataset and of its columns, `owner`), `quality` (an alarm threshold) and the
 * data-product fields (`version`, `sla`, `access`: who reads silver and what it promises, not what it holds).
 */
import { createHash } from 'node:crypto';
import type { DatasetContract } from './dataset-contract';

/**
 * The version of the canonical form, hashed with it: a change of what the hash covers then changes every
 * hash, instead of silently comparing two different forms.
 */
const CANONICAL_FORM = 'medallion-contract/v1';

/** Hashes already computed: a contract is parsed once and never changed afterwards. */
const computed = new WeakMap<DatasetContract, string>();

/** SHA-256 (64 lower-case hex digits) of the contract's canonical content; computed once per contract. */
export function contractHash(contract: DatasetContract): string {
  let hash = computed.get(contract);
  if (hash === undefined) {
    hash = createHash('sha256')
      .update(`${CANONICAL_FORM}\n${canonicalJson(contractContent(contract))}`)
      .digest('hex');
    computed.set(contract, hash);
  }
  return hash;
}

/** What the hash covers: the contract without where it was read from and without descriptive fields. */
export function contractContent(contract: DatasetContract): unknown {
  const {
    file: _file,
    id: _id,
    description: _description,
    owner: _owner,
    quality: _quality,
    version: _version,
    sla: _sla,
    access: _access,
    ...rest
  } = contract;
  return {
    ...rest,
    columns: contract.columns.map(({ description: _d, typeText: _t, ...column }) => column),
  };
}

/** JSON with object keys sorted at every level and `undefined` members left out (as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
