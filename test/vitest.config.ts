import { defineProject } from 'vitest/config';

/**
 * The stock @sigstore/verify 4.x check runs where that line's engine allows it (Node ^22.22.2,
 * ^24.15.0, >=26: the Node 24 CI lane). Elsewhere the file is not collected at all, so it is never
 * reported as skipped; the 3.1 line is checked on every Node (tlog-stock-verify.test.ts).
 */
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const verify4Runs = major >= 26 || (major === 24 && minor >= 15) || (major === 22 && minor >= 22);

export default defineProject({
  test: {
    name: 'e2e',
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', ...(verify4Runs ? [] : ['tlog-stock-verify-v4.test.ts'])],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
