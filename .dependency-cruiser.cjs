/**
 * The dependency directions of STYLE.md, checked on every CI run (`npm run depcheck`).
 * Paths are matched after resolution, so a workspace import such as `@sigil/db` resolves to
 * `packages/db/...` and is caught the same as a relative one.
 * @type {import('dependency-cruiser').IConfiguration}
 */
const NODE_IO = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|dns|tls|worker_threads|cluster|readline|process)$';

module.exports = {
  forbidden: [
    {
      name: 'package-imports-app',
      comment: 'Libraries never import apps.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^apps/' },
    },
    {
      name: 'app-imports-other-app',
      comment: 'Apps never import each other; they share code through packages.',
      severity: 'error',
      from: { path: '^apps/([^/]+)/' },
      to: { path: '^apps/', pathNot: '^apps/$1/' },
    },
    {
      name: 'manifest-is-leaf',
      comment: 'packages/manifest depends on no other package of ours.',
      severity: 'error',
      from: { path: '^packages/manifest/' },
      to: { path: '^packages/', pathNot: '^packages/manifest/' },
    },
    {
      name: 'manifest-no-io',
      comment: 'packages/manifest does no Node I/O.',
      severity: 'error',
      from: { path: '^packages/manifest/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'], path: NODE_IO },
    },
    {
      name: 'tlog-pure',
      comment: 'packages/tlog is pure: node builtins and @sigil/manifest only; no HTTP, no database driver, no other package.',
      severity: 'error',
      from: { path: '^packages/tlog/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypesNot: ['core'], pathNot: ['^packages/tlog/', '^packages/manifest/'] },
    },
    {
      name: 'tlog-no-io',
      comment: 'packages/tlog does no Node I/O (node:crypto is its only builtin need).',
      severity: 'error',
      from: { path: '^packages/tlog/src/', pathNot: '\\.test\\.ts$' },
      to: { dependencyTypes: ['core'], path: NODE_IO },
    },
    {
      name: 'resolver-minimal',
      comment: 'The resolver loads the least code possible: never the db, hono, drizzle, node-forge or the signing side (its tests may sign fixtures).',
      severity: 'error',
      from: { path: '^packages/resolver/', pathNot: '\\.test\\.ts$' },
      to: {
        path: [
          '^packages/db/',
          '^packages/lint/',
          '^packages/signing/(src|dist)/sign',
          'node_modules/(hono|@hono|drizzle-orm|better-sqlite3|node-forge|@sigstore/sign)/',
        ],
      },
    },
    {
      name: 'routes-not-db',
      comment: 'Inside the registry, routes call services; only services touch the database.',
      severity: 'error',
      from: { path: '^apps/registry/src/routes/' },
      to: { path: ['^packages/db/', 'node_modules/(drizzle-orm|better-sqlite3)/'] },
    },
    {
      name: 'services-not-hono',
      comment: 'Services never touch Hono types.',
      severity: 'error',
      from: { path: '^apps/registry/src/services/' },
      to: { path: 'node_modules/(hono|@hono)/' },
    },
    {
      name: 'no-deep-imports',
      comment: "Import another package only through its exports entry points, never its src/.",
      severity: 'error',
      from: { path: '^(apps|packages)/([^/]+)/' },
      to: { path: '^packages/[^/]+/src/', pathNot: '^packages/$2/src/' },
    },
    {
      name: 'testing-only-in-tests',
      comment: '@sigil/testing holds fixtures for tests; production code never imports it (a *.fixture.ts file is imported by tests only).',
      severity: 'error',
      from: { path: '^(apps|packages)/', pathNot: ['\\.(test|fixture)\\.ts$', '^packages/testing/'] },
      to: { path: '^packages/testing/' },
    },
    {
      name: 'fixtures-only-in-tests',
      comment: 'A *.fixture.ts file is test support kept beside the code it exercises; only tests import it.',
      severity: 'error',
      from: { path: '^(apps|packages)/', pathNot: ['\\.(test|fixture)\\.ts$'] },
      to: { path: '\\.fixture\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '/dist/'] },
    // Only coverage is excluded: an excluded module loses its incoming edges too, so excluding
    // dist/ and node_modules (where workspace and npm imports resolve) hid every import of
    // another package from the rules above. doNotFollow keeps them as leaves instead.
    exclude: { path: ['/coverage/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'default', 'node'], extensions: ['.ts', '.js', '.json'] },
    combinedDependencies: false,
  },
};
