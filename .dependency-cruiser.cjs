/**
 * The import rule of the layout (`npm run lint:imports`, part of `npm test`):
 * - core/ is the domain: it imports only core/, node builtins and npm packages, and never CDK, Lambda types or
 *   AWS SDK clients (those belong to lib/ and lambdas/);
 * - lib/ (CDK) never imports lambdas/ or local/ (it bundles handlers by file path, it does not import them);
 * - lambdas/ never imports lib/, local/, bin/, bench/ or test/ (what runs in AWS holds no tooling);
 * - local/ never imports bin/, bench/ or test/;
 * - no production folder imports test/;
 * - no import cycles, except through type-only imports (erased when compiled, so they cannot loop at runtime).
 * Paths are relative to the working directory, so the same file checks the project and the trees of
 * test/architecture/import-rules.test.ts.
 */

/** Packages core/ must not reach: CDK, Lambda event types, AWS SDK clients. */
const PLATFORM_PACKAGES =
  '(^|node_modules/)(aws-cdk-lib|constructs|aws-lambda|@types/aws-lambda|@aws-sdk/[^/]+)(/|$)';

/** A rule: nothing under `from` may import anything under `to` (path regular expressions). */
function forbid(name, comment, from, to) {
  return { name, comment, severity: 'error', from: { path: from }, to: { path: to } };
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-imports-only-core',
      comment: 'core/ is the domain: of ours it may import only core/ (plus node builtins and npm packages).',
      severity: 'error',
      from: { path: '^core/' },
      to: {
        pathNot: ['^core/', '^node_modules/'],
        couldNotResolve: false, // an unresolvable import fails tsc; a platform package is the next rule's
        dependencyTypesNot: [
          'core',
          'npm',
          'npm-dev',
          'npm-optional',
          'npm-peer',
          'npm-bundled',
          'npm-no-pkg',
          'npm-unknown',
        ],
      },
    },
    forbid(
      'core-no-platform-packages',
      'core/ holds no CDK, Lambda types or AWS SDK clients: those belong to lib/ and lambdas/.',
      '^core/',
      PLATFORM_PACKAGES,
    ),
    forbid(
      'lib-not-to-lambdas-or-local',
      'lib/ (CDK) bundles handlers by file path; it never imports lambdas/ or local/.',
      '^lib/',
      '^(lambdas|local)/',
    ),
    forbid(
      'lambdas-not-to-tooling',
      'What runs in AWS never imports the CDK app, the local cloud, the CLI, the benchmarks or tests.',
      '^lambdas/',
      '^(lib|local|bin|bench|test)/',
    ),
    forbid(
      'local-not-to-cli-bench-or-test',
      'local/ may use core, lambdas and lib, but never the CLI, the benchmarks or tests.',
      '^local/',
      '^(bin|bench|test)/',
    ),
    forbid(
      'production-not-to-test',
      'No production folder imports test code.',
      '^(core|lib|lambdas|local|bin)/',
      '^test/',
    ),
    {
      name: 'no-circular',
      comment:
        'No import cycles; a cycle closed only by type-only imports is erased at compile time and allowed.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|cdk\\.out|\\.medallion)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
