import { z } from 'zod';
import { HEX_PATTERN } from './statements.js';
import { deferSchema } from '@sigil/manifest';

// A module of its own (not statements.ts): only the signing side and `verifyProvenanceBundle`
// use these schemas, and a bundle that uses neither (the packed CLI's host commands) leaves the
// module out instead of building them at every start (apps/cli/scripts/pack.mjs).

const ResourceDescriptor = deferSchema(() => z.object({
  uri: z.string().max(2048).optional(),
  digest: z.record(z.string().max(32), z.string().regex(HEX_PATTERN).max(256)).optional(),
  name: z.string().max(512).optional(),
}));

/**
 * SLSA provenance v1 predicate (https://slsa.dev/spec/v1.0/provenance). Not strict: SLSA lets
 * builders add fields; every field we rely on is typed and bounded.
 */
export const SlsaProvenancePredicate = deferSchema(() => z.object({
  buildDefinition: z.object({
    buildType: z.string().min(1).max(512),
    externalParameters: z.record(z.string(), z.unknown()),
    internalParameters: z.record(z.string(), z.unknown()).optional(),
    resolvedDependencies: z.array(ResourceDescriptor).max(256).optional(),
  }),
  runDetails: z.object({
    builder: z.object({ id: z.string().min(1).max(2048), version: z.record(z.string(), z.string().max(256)).optional() }),
    metadata: z
      .object({
        invocationId: z.string().max(2048).optional(),
        startedOn: z.string().max(64).optional(),
        finishedOn: z.string().max(64).optional(),
      })
      .optional(),
    byproducts: z.array(ResourceDescriptor).max(256).optional(),
  }),
}));
export type SlsaProvenancePredicate = z.infer<typeof SlsaProvenancePredicate>;
