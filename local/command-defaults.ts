/**
 * Where the commands look by default: the sample contracts and models of this repository, and the local
 * state. A module of its own, so that a command that only reads them (`check`) does not load the local
 * cloud (the CDK, the S3 server) to learn three paths.
 */

/** The data contracts `pipeline`, `local`, `query`, `replay` and `check` read unless told otherwise. */
export const DEFAULT_CONTRACTS_DIR = 'samples/contracts';

/** The gold models that go with the sample contracts. */
export const DEFAULT_MODELS_DIR = 'samples/models';

/** The local cloud's state (buckets, queue journals, catalog, caches). */
export const DEFAULT_STATE_DIR = '.medallion/local';
