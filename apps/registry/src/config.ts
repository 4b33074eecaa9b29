import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The registry's settings, read from the environment once, in main.ts. */
export const ConfigSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8787),
  SIGIL_DATA_DIR: z.string().min(1).default('./.sigil'),
  SIGIL_BOOTSTRAP_TOKEN: z.string().min(16, 'SIGIL_BOOTSTRAP_TOKEN must be at least 16 characters').max(512).optional(),
  /** Allow reads (servers, versions, status, keys) without a token. Off by default. */
  SIGIL_ANONYMOUS_READ: bool.default(false),
  /** Longest token lifetime, seconds (default 30 days); tokens default to 1 hour. */
  SIGIL_TOKEN_MAX_TTL: int(60, 366 * 86_400).default(30 * 86_400),
  /** Lifetime of a signed status statement, seconds (default 24 hours). */
  SIGIL_STATUS_TTL: int(60, 30 * 86_400).default(86_400),
  /** Distinct approvals a high-risk version needs (low-risk: 1). */
  SIGIL_HIGH_RISK_APPROVALS: int(1, 16).default(2),
  /** Largest request body, bytes. */
  SIGIL_BODY_LIMIT: int(1024, 16 * 1024 * 1024).default(1024 * 1024),
  /** Requests per minute per token, and per client address. */
  SIGIL_RATE_LIMIT_TOKEN: int(1, 1_000_000).default(1200),
  SIGIL_RATE_LIMIT_ADDRESS: int(1, 1_000_000).default(2400),
  /** Comma-separated origins allowed by CORS; none by default. */
  SIGIL_CORS_ORIGINS: z.string().optional(),
  /** Comma-separated lint rules raised from warning to error. */
  SIGIL_LINT_ERROR_RULES: z.string().optional(),
  /** Comma-separated SLSA builder ids accepted in provenance. */
  SIGIL_PROVENANCE_BUILDERS: z.string().default('https://github.com/actions/runner/github-hosted'),
  SIGIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Env = z.infer<typeof ConfigSchema>;

/** Settings the app itself uses (no I/O paths or listening address). */
export interface Settings {
  anonymousRead: boolean;
  tokenMaxTtlSeconds: number;
  statusTtlSeconds: number;
  highRiskApprovals: number;
  bodyLimit: number;
  rateLimitPerToken: number;
  rateLimitPerAddress: number;
  corsOrigins: string[];
  lintErrorRules: string[];
  provenanceBuilders: string[];
}

const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);

export function settingsFrom(env: Env): Settings {
  return {
    anonymousRead: env.SIGIL_ANONYMOUS_READ,
    tokenMaxTtlSeconds: env.SIGIL_TOKEN_MAX_TTL,
    statusTtlSeconds: env.SIGIL_STATUS_TTL,
    highRiskApprovals: env.SIGIL_HIGH_RISK_APPROVALS,
    bodyLimit: env.SIGIL_BODY_LIMIT,
    rateLimitPerToken: env.SIGIL_RATE_LIMIT_TOKEN,
    rateLimitPerAddress: env.SIGIL_RATE_LIMIT_ADDRESS,
    corsOrigins: list(env.SIGIL_CORS_ORIGINS),
    lintErrorRules: list(env.SIGIL_LINT_ERROR_RULES),
    provenanceBuilders: list(env.SIGIL_PROVENANCE_BUILDERS),
  };
}

export const DEFAULT_SETTINGS: Settings = settingsFrom(ConfigSchema.parse({}));

/** Parses the environment; a bad setting stops the start with a clear message. */
export function loadEnv(env: NodeJS.ProcessEnv): Env {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid setting ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}
