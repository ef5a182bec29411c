/**
 * A gold table's lineage, kept in its Glue table's parameters: the tables its model reads (written at
 * deploy from the model's refs, so incremental and full models alike carry them), the model's version and
 * domain, and the execution that built the version published (written by the gold workflow when it
 * publishes a full model; an incremental model's partitions each name the run that built them). `medallion
 * query` and the run report read them back.
 */

/** The parameter names. */
export const LINEAGE_PARAMETERS = {
  /** The tables the model's SQL reads, comma-separated and sorted (silver tables and gold models). */
  sources: 'medallion.sources',
  /** The execution that wrote the published version (full models; an incremental model: per partition). */
  run: 'medallion.run',
  version: 'medallion.version',
  domain: 'medallion.domain',
} as const;

/** The source tables recorded in a table's parameters (none when not recorded). */
export function lineageSources(parameters: Readonly<Record<string, string>> | undefined): string[] {
  const text = parameters?.[LINEAGE_PARAMETERS.sources];
  return text ? text.split(',').filter((t) => t !== '') : [];
}
