import { z } from 'zod';
import { Digest, ServerName, Version } from '../schema.js';
import { RiskLevel, Timestamp, VersionStatus } from './common.js';
import { deferSchema } from '../defer-schema.js';

/** One version in a server's listing. */
export const VersionSummary = deferSchema(() => z.strictObject({
  version: Version,
  digest: Digest,
  status: VersionStatus,
  risk: RiskLevel,
  publishedAt: Timestamp,
}));
export type VersionSummary = z.infer<typeof VersionSummary>;

/** `GET /v1/servers/{namespace}/{name}`: every version of one server and its status, newest first. */
export const ServerRecord = deferSchema(() => z.object({
  name: ServerName,
  versions: z.array(VersionSummary).max(10_000),
}));
export type ServerRecord = z.infer<typeof ServerRecord>;
