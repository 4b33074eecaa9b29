/**
 * Hard limits on a manifest, from CONTRACT.md ("Manifest"). Each has its own finding code
 * so a publisher learns exactly which bound was crossed and where.
 */
export const LIMITS = {
  /** Whole manifest, UTF-8 bytes of the text as received. */
  manifestBytes: 256 * 1024,
  /** Tools in one manifest. */
  tools: 128,
  /** UTF-8 bytes of one description (tool, or any `description` inside a tool's schemas). */
  descriptionBytes: 8 * 1024,
  /** UTF-8 bytes of the server's `instructions`. */
  instructionsBytes: 16 * 1024,
  /** JSON nesting depth: objects and arrays, checked on the raw text before parsing. */
  depth: 32,
} as const;

export type Limits = { readonly [K in keyof typeof LIMITS]: number };
