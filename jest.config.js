/**
 * Tests are transpiled by SWC (no type-check per file: `tsc --noEmit` type-checks once in `npm test`).
 * One project per kind of test, so a kind runs alone (`npm run test:unit`, `jest --selectProjects cdk`, ...);
 * plain `jest` runs them all, and a path filter (`jest test/evidence`) still picks files across projects.
 * `--selectProjects` takes every plain word after it as a project name, so the `test:<project>` scripts end it
 * with `--cache` (jest's default anyway): `npm run test:unit -- test/core` then still filters by path.
 */
const shared = {
  testEnvironment: 'node',
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 60000,
};

/** A project named `displayName` holding the tests under the given folders of test/. */
function project(displayName, folders) {
  return { ...shared, displayName, roots: folders.map((folder) => `<rootDir>/test/${folder}`) };
}

/**
 * Jest's default (cores - 1) runs one file at a time on a 2-core CI machine. Most slow files wait on the
 * local S3 server, child processes and DuckDB's I/O, so two at a time on 2 cores took the whole suite from
 * 765 s to 508 s; more than 4 at once mostly adds memory pressure. `npm test` still runs the e2e and
 * evidence projects one file at a time: their time budgets and timeouts assume a machine to themselves.
 */
const maxWorkers = Math.max(2, Math.min(4, require('node:os').availableParallelism() - 1));

module.exports = {
  testTimeout: shared.testTimeout,
  maxWorkers,
  projects: [
    // Fast, in-process: the domain, the handlers, the evidence report and the import rule.
    project('unit', ['core', 'lambdas', 'bench', 'architecture']),
    // The CDK app synthesized to templates.
    project('cdk', ['lib']),
    // The local cloud: S3 server, in-process Lambdas, DuckDB as Athena.
    project('local', ['local']),
    // The CLI and real clients end to end against the local cloud.
    project('e2e', ['e2e']),
    // The scenarios `npm run evidence` turns into the README's figures.
    project('evidence', ['evidence']),
  ],
};
