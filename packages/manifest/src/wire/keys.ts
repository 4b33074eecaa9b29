import { z } from 'zod';
import { Timestamp } from './common.js';
import { deferSchema } from '../defer-schema.js';

/** One of the registry's own keys. */
export const RegistryKey = deferSchema(() => z.strictObject({
  /** What the key signs: `status` statements. */
  use: z.literal('status'),
  /** SPKI PEM (ECDSA P-256). */
  publicKey: z.string().min(1).max(8192),
  /** `SHA256:<base64>` of the SPKI, as `sigil policy init` prints it to compare out of band. */
  fingerprint: z.string().min(1).max(128),
  createdAt: Timestamp,
}));
export type RegistryKey = z.infer<typeof RegistryKey>;

/** `GET /v1/keys`: the registry's status-signing key (and, later, rotated ones). */
export const KeysResponse = deferSchema(() => z.strictObject({ keys: z.array(RegistryKey).min(1).max(16) }));
export type KeysResponse = z.infer<typeof KeysResponse>;
