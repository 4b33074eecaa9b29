import { z } from 'zod';
import { cidrProblem } from './client-address.js';
import { publicUrlProblem } from './public-origin.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = (s: string | undefined) => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'a key fingerprint, SHA256:<base64 of 43 characters>');

/** The registry's settings, read from the environment once, in main.ts. */
export const ConfigSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8787),
  SIGIL_DATA_DIR: z.string().min(1).default('./.sigil'),
  /** PostgreSQL instead of SQLite in SIGIL_DATA_DIR: `postgres://user@host:5432/db` (several instances share it). */
  SIGIL_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
    .optional(),
  /**
   * The registry's keys, the same for every instance: PEM text (a one-line value may carry `\n`
   * escapes) or a file's path. Text wins over the file, both over `SIGIL_DATA_DIR/keys`.
   */
  SIGIL_STATUS_KEY: z.string().optional(),
  SIGIL_STATUS_KEY_FILE: z.string().optional(),
  SIGIL_LOG_KEY: z.string().optional(),
  SIGIL_LOG_KEY_FILE: z.string().optional(),
  SIGIL_TSA_KEY: z.string().optional(),
  SIGIL_TSA_KEY_FILE: z.string().optional(),
  SIGIL_TSA_CHAIN: z.string().optional(),
  SIGIL_TSA_CHAIN_FILE: z.string().optional(),
  /**
   * On PostgreSQL, a deliberate key rotation: the fingerprint (`SHA256:<base64>`) of the status
   * or log key the instances sign with now, which this instance's key replaces. Without it an
   * instance whose key is not the one the database records refuses to start (KEY_MISMATCH).
   */
  SIGIL_STATUS_KEY_REPLACES: fingerprint.optional(),
  SIGIL_LOG_KEY_REPLACES: fingerprint.optional(),
  /** More TSA chains the trusted root lists (rotation: retired TSAs, whose timestamps must still verify, and the next one). */
  SIGIL_TSA_EXTRA_CHAINS_FILE: z.string().optional(),
  SIGIL_BOOTSTRAP_TOKEN: z
    .string()
    .min(32, 'SIGIL_BOOTSTRAP_TOKEN must be at least 32 characters (e.g. `openssl rand -base64 32`)')
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'SIGIL_BOOTSTRAP_TOKEN must be printable ASCII without spaces')
    .optional(),
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
  SIGIL_RATE_LIMIT_TOKEN: int(1, 100_000_000).default(1200),
  SIGIL_RATE_LIMIT_ADDRESS: int(1, 100_000_000).default(2400),
  /**
   * Where the rate limits are counted: `redis` (shared by every instance; SIGIL_REDIS_URL) or
   * `local` (in this process). Default: redis when SIGIL_REDIS_URL is set; else local on SQLite,
   * and on PostgreSQL the start refuses until one is chosen (N instances counting alone allow N
   * times the rate).
   */
  SIGIL_RATE_LIMIT_STORE: z.enum(['local', 'redis']).optional(),
  /** `redis://[user:password@]host:6379[/db]` or `rediss://…`: the shared rate-limit counters. */
  SIGIL_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
    .optional(),
  /** Prefix of this registry's keys in Redis (several registries may share one Redis). */
  SIGIL_REDIS_PREFIX: z.string().min(1).max(100).default('sigil:rate:'),
  /**
   * Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed;
   * none by default, so the header is ignored and the socket address is the client.
   */
  SIGIL_TRUSTED_PROXIES: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      for (const cidr of list(v)) {
        const problem = cidrProblem(cidr);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }
    }),
  /**
   * The registry's public origin (`https://registry.example`): the base of the URLs its answers
   * name. Unset: the request's Host (and https from a trusted proxy's X-Forwarded-Proto).
   */
  SIGIL_PUBLIC_URL: z
    .string()
    .max(2048)
    .optional()
    .superRefine((v, ctx) => {
      const problem = v === undefined ? undefined : publicUrlProblem(v);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /** Comma-separated origins allowed by CORS; none by default. */
  SIGIL_CORS_ORIGINS: z.string().optional(),
  /** Comma-separated lint rules raised from warning to error. */
  SIGIL_LINT_ERROR_RULES: z.string().optional(),
  /** Comma-separated SLSA builder ids accepted in provenance. */
  SIGIL_PROVENANCE_BUILDERS: z.string().default('https://github.com/actions/runner/github-hosted'),
  /** Open connections in all, and per client address (trusted proxies are exempt from the second). */
  SIGIL_MAX_CONNECTIONS: int(1, 1_000_000).default(1024),
  SIGIL_MAX_CONNECTIONS_PER_ADDRESS: int(1, 1_000_000).default(64),
  /** Pending (unreviewed) versions a namespace may hold at once. */
  SIGIL_PENDING_LIMIT: int(1, 1_000_000).default(50),
  /** `pretty` (one readable line per event) or `json` (one JSON object per line); `auto`: pretty on a terminal. */
  SIGIL_LOG_FORMAT: z.enum(['auto', 'pretty', 'json']).default('auto'),
  SIGIL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Public base URL of the transparency log (`<registry>/v1/log`); its hostname is the checkpoint origin and key name. */
  SIGIL_TLOG_URL: z.url({ protocol: /^https?$/ }).max(2048).default('http://localhost/v1/log'),
  /** Shortest interval between two signed checkpoints under load, ms; an idle log signs at once. */
  SIGIL_LOG_CHECKPOINT_MS: int(0, 3_600_000).default(1000),
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
  /** Reverse proxies (CIDRs) whose X-Forwarded-For names the client. */
  trustedProxies: string[];
  /** SIGIL_PUBLIC_URL as an origin (no trailing slash), or undefined: the request's own. */
  publicOrigin: string | undefined;
  /** Pending versions a namespace may hold at once (PENDING_LIMIT beyond). */
  pendingLimit: number;
  corsOrigins: string[];
  lintErrorRules: string[];
  provenanceBuilders: string[];
  /** Transparency log base URL (origin = its hostname) and checkpoint interval under load. */
  tlogUrl: string;
  logCheckpointMs: number;
}

export function settingsFrom(env: Env): Settings {
  return {
    anonymousRead: env.SIGIL_ANONYMOUS_READ,
    tokenMaxTtlSeconds: env.SIGIL_TOKEN_MAX_TTL,
    statusTtlSeconds: env.SIGIL_STATUS_TTL,
    highRiskApprovals: env.SIGIL_HIGH_RISK_APPROVALS,
    bodyLimit: env.SIGIL_BODY_LIMIT,
    rateLimitPerToken: env.SIGIL_RATE_LIMIT_TOKEN,
    rateLimitPerAddress: env.SIGIL_RATE_LIMIT_ADDRESS,
    trustedProxies: list(env.SIGIL_TRUSTED_PROXIES),
    publicOrigin: env.SIGIL_PUBLIC_URL === undefined ? undefined : new URL(env.SIGIL_PUBLIC_URL).origin,
    pendingLimit: env.SIGIL_PENDING_LIMIT,
    corsOrigins: list(env.SIGIL_CORS_ORIGINS),
    lintErrorRules: list(env.SIGIL_LINT_ERROR_RULES),
    provenanceBuilders: list(env.SIGIL_PROVENANCE_BUILDERS),
    tlogUrl: env.SIGIL_TLOG_URL,
    logCheckpointMs: env.SIGIL_LOG_CHECKPOINT_MS,
  };
}

export const DEFAULT_SETTINGS: Settings = settingsFrom(ConfigSchema.parse({}));

/** Parses the environment; a bad setting stops the start with a clear message. */
export function loadEnv(env: NodeJS.ProcessEnv): Env {
  // An empty variable is an unset one (`SIGIL_BOOTSTRAP_TOKEN= npm start`).
  const parsed = ConfigSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`invalid setting ${issue.path.join('.')}: ${issue.message}`);
  }
  const store = parsed.data.SIGIL_RATE_LIMIT_STORE;
  if (store === 'redis' && !parsed.data.SIGIL_REDIS_URL) throw new ConfigError('invalid setting SIGIL_RATE_LIMIT_STORE: redis needs SIGIL_REDIS_URL');
  if (store === 'local' && parsed.data.SIGIL_REDIS_URL) throw new ConfigError('invalid setting SIGIL_RATE_LIMIT_STORE: local, but SIGIL_REDIS_URL is set too; unset one of them');
  return parsed.data;
}

/** A setting the registry cannot start with. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
}
