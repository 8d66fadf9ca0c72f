// Compiles flags, environment and the optional config file into one validated, frozen object.
// This is the only module that reads process.env.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { GATEWAY_AUTH_MODES, KageError, showValue, type GatewayAuthMode } from '../domain/index.js';
import type { ProviderEndpoint, ProviderEndpoints } from '../agents/adapter.js';
import { ollamaBaseUrl } from '../agents/api-worker/providers/ollama-host.js';

const agentConfigSchema = z
  .object({
    bin: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    model: z.string().min(1).optional(),
    options: z.record(z.string(), z.unknown()).optional(),
    auth: z.enum(['gateway', 'passthrough']).optional(),
  })
  .strict();

export type AgentConfig = z.infer<typeof agentConfigSchema>;

const providerSchema = z
  .object({
    baseUrl: z.string().url().optional(),
    apiKey: z.string().min(1).optional(),
  })
  .strict();

const providersSchema = z
  .object({ anthropic: providerSchema.optional(), openai: providerSchema.optional(), gemini: providerSchema.optional(), ollama: providerSchema.optional() })
  .strict();

const usdPerMillion = z.number().min(0).max(100_000);

const priceSchema = z
  .object({
    inputUsdPerMillion: usdPerMillion,
    outputUsdPerMillion: usdPerMillion,
    cacheReadUsdPerMillion: usdPerMillion.optional(),
    cacheWriteUsdPerMillion: usdPerMillion.optional(),
  })
  .strict();

export type ModelPriceConfig = z.infer<typeof priceSchema>;

const providerRateLimitSchema = z
  .object({
    requestsPerMinute: z.number().int().min(1).max(1_000_000).optional(),
    tokensPerMinute: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable().optional(),
    maxWaitSeconds: z.number().min(0).max(86_400).optional(),
  })
  .strict();

const rateLimitsSchema = providerRateLimitSchema
  .extend({
    backoffBaseSeconds: z.number().min(0).max(3600).optional(),
    backoffMaxSeconds: z.number().min(0).max(3600).optional(),
    maxRetries: z.number().int().min(0).max(20).optional(),
    windowSeconds: z.number().min(0.1).max(3600).optional(),
    providers: z
      .object({ anthropic: providerRateLimitSchema.optional(), openai: providerRateLimitSchema.optional(),
        gemini: providerRateLimitSchema.optional(), ollama: providerRateLimitSchema.optional() })
      .strict()
      .optional(),
  })
  .strict();

const fileSchema = z
  .object({
    databaseUrl: z.string().min(1).optional(),
    pgBinDir: z.string().min(1).optional(),
    baseBranch: z.string().min(1).optional(),
    concurrency: z.number().int().min(1).max(64).optional(),
    timeoutSeconds: z.number().int().min(1).max(86_400).optional(),
    maxRetries: z.number().int().min(0).max(10).optional(),
    retryDelaySeconds: z.number().min(0).max(600).optional(),
    checkTimeoutSeconds: z.number().int().min(1).max(86_400).optional(),
    killGraceSeconds: z.number().min(0.1).max(120).optional(),
    envAllowlist: z.array(z.string().min(1)).optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    agents: z.record(z.string(), agentConfigSchema).optional(),
    providers: providersSchema.optional(),
    gateway: z
      .object({
        enabled: z.boolean().optional(),
        auth: z.enum(['gateway', 'passthrough']).optional(),
        url: z.string().min(1).optional(),
        host: z.string().min(1).optional(),
        port: z.number().int().min(0).max(65_535).optional(),
        upstreams: providersSchema.optional(),
        prices: z.record(z.string().min(1), priceSchema).optional(),
        record: z.boolean().optional(),
        replayTiming: z.enum(['fast', 'recorded']).optional(),
        maxRecordedBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).optional(),
      })
      .strict()
      .optional(),
    agentsDir: z.string().min(1).optional(),
    budgets: z
      .object({
        taskTokens: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        warningThreshold: z.number().gt(0).max(1).optional(),
        split: z.enum(['split', 'shared']).optional(),
        taskUsd: z.number().min(0).max(1_000_000).nullable().optional(),
      })
      .strict()
      .optional(),
    rateLimits: rateLimitsSchema.optional(),
    server: z
      .object({
        host: z.string().min(1).optional(),
        port: z.number().int().min(0).max(65_535).optional(),
        repo: z.string().min(1).optional(),
        apiKeys: z.array(z.string().min(8)).optional(),
        bodyLimitBytes: z.number().int().min(1024).max(100 * 1024 * 1024).optional(),
        rateLimitPerMinute: z.number().int().min(1).max(1_000_000).optional(),
        maxQueuedClones: z.number().int().min(1).max(1_000_000).optional(),
        corsOrigins: z.array(z.string().min(1)).optional(),
        streamTokenTtlSeconds: z.number().int().min(10).max(86_400).optional(),
        shutdownGraceSeconds: z.number().min(0).max(3600).optional(),
        sseHeartbeatMs: z.number().int().min(10).max(600_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type FileConfig = z.infer<typeof fileSchema>;

export interface KageConfig {
  /** Root of everything kage keeps on disk (embedded server, worktrees, agent homes). */
  home: string;
  configFile: string | null;
  /** Any PostgreSQL server; null means the private embedded server under `home`. */
  databaseUrl: string | null;
  pgBinDir: string | null;
  /** Base branch when a task names none (else the repo's current branch). */
  baseBranch: string | null;
  /** Clone jobs run at once by this process; null means the task's clone count, at most 8. */
  concurrency: number | null;
  timeoutMs: number;
  maxRetries: number;
  retryDelayMs: number;
  checkTimeoutMs: number;
  killGraceMs: number;
  /** Extra environment variable names (or `PREFIX_*`) passed to agent processes. */
  envAllowlist: string[];
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  agents: Record<string, AgentConfig>;
  /** Model endpoints and keys the agents use; the environment's variables win over the file's `providers`. */
  providers: ProviderEndpoints;
  gateway: GatewayConfig;
  budgets: BudgetConfig;
  rateLimits: RateLimitConfig;
  /** Where `kage agents install` puts the pinned agent CLIs (KAGE_AGENTS_DIR; default a per-user cache). */
  agentsDir: string;
  server: ServerConfig;
  /**
   * The secrets store's master key as given in KAGE_MASTER_KEY (base64 or hex of 32 bytes, parsed by
   * src/secrets); null means the generated key file KAGE_HOME/master.key.
   */
  masterKey: string | null;
  /** The previous master key during `kage secrets rotate` (KAGE_MASTER_KEY_OLD). */
  masterKeyOld: string | null;
  /**
   * The orchestrator's environment, kept so the process supervisor can filter it through the allowlist.
   * The master key variables are left out, so no allowlist can pass them to an agent.
   */
  env: Readonly<Record<string, string>>;
}

/** Settings of `kage serve`. */
export interface ServerConfig {
  /** Interface to listen on; loopback unless told otherwise. */
  host: string;
  port: number;
  /** Repository used when a submitted task names none. */
  repo: string | null;
  /** Accepted API keys (KAGE_API_KEYS, or v1's API_KEYS); empty means a generated key. */
  apiKeys: string[];
  bodyLimitBytes: number;
  /** Requests per minute per API key. */
  rateLimitPerMinute: number;
  /** Queued clones past which new submissions get 429. */
  maxQueuedClones: number;
  /** Origins allowed by CORS; empty means CORS off. */
  corsOrigins: string[];
  /** Lifetime of the signed tokens browsers use for the progress stream. */
  streamTokenTtlMs: number;
  /** How long running clones may finish on SIGTERM before they are handed back to the queue. */
  shutdownGraceMs: number;
  /** Idle time after which the progress stream sends a `heartbeat` event (keeps proxies from closing it). */
  sseHeartbeatMs: number;
}

/** Settings of the LLM gateway between clones and their model providers. */
export interface GatewayConfig {
  /** Clones reach their providers only through the gateway, with per-clone tokens (KAGE_GATEWAY=off turns it off). */
  enabled: boolean;
  /** How agents without an `agents.<id>.auth` authenticate through it (KAGE_GATEWAY_AUTH; default `gateway`). */
  auth: GatewayAuthMode;
  /**
   * A `kage gateway` running elsewhere (KAGE_GATEWAY_URL), without a trailing slash: a process that runs clones
   * then starts no gateway of its own and hands its clones this one's URLs. Null: each process runs its own.
   */
  url: string | null;
  /** Interface `kage gateway` run on its own listens on (KAGE_GATEWAY_HOST; default 127.0.0.1). */
  host: string;
  /** Port of `kage gateway` run on its own (KAGE_GATEWAY_PORT; 0 picks a free one); the in-process gateway always takes a free one. */
  port: number;
  /**
   * Where the gateway forwards, with the real keys: the file's `gateway.upstreams`, else `providers` (so
   * ANTHROPIC_BASE_URL, OPENAI_API_KEY, ... as before). Ollama's is a URL here, not OLLAMA_HOST's short forms.
   */
  upstreams: ProviderEndpoints;
  /** Price entries by model-name prefix, added to or replacing the gateway's defaults. */
  prices: Record<string, ModelPriceConfig>;
  /** Tasks that do not say otherwise record their model traffic with the flight recorder (KAGE_RECORD; default off). */
  record: boolean;
  /** How replays stream recorded answers: `fast` (as the client reads, the default) or `recorded` (KAGE_REPLAY_TIMING). */
  replayTiming: 'fast' | 'recorded';
  /** Largest answer kept per recorded exchange (default 16 MiB); past it the bytes are counted, not kept. */
  maxRecordedBytes: number;
}

/** Per-task budgets the gateway enforces (src/gateway/budget.ts). */
export interface BudgetConfig {
  /** Tokens per task when the task names no `tokenBudget` (KAGE_TOKEN_BUDGET, v1's MAX_TOKENS_PER_TASK); null: none. */
  taskTokens: number | null;
  /** Fraction of a budget at which a `budget_warning` event is emitted (TOKEN_WARNING_THRESHOLD). */
  warningThreshold: number;
  /** `split`: each clone gets an equal share of the task's budget; `shared`: the clones draw on one pool. */
  split: 'split' | 'shared';
  /** USD per task (KAGE_USD_BUDGET), split or shared the same way; null: none. */
  taskUsd: number | null;
}

/** One provider's limits in the gateway (src/gateway/rate-limit.ts). */
export interface ProviderRateLimitConfig {
  /** Requests per minute (MAX_REQUESTS_PER_MINUTE, default 50). */
  requestsPerMinute: number;
  /** Tokens per minute, as metered (KAGE_TOKENS_PER_MINUTE); null: no token limit. */
  tokensPerMinute: number | null;
  /** Longest a request waits for its turn before the gateway answers 429 (KAGE_RATE_LIMIT_MAX_WAIT, default 300 s). */
  maxWaitMs: number;
}

/** Rate limits and upstream retries of the gateway: defaults, and overrides per provider from the file. */
export interface RateLimitConfig extends ProviderRateLimitConfig {
  providers: Record<keyof ProviderEndpoints, ProviderRateLimitConfig>;
  /** First backoff of an upstream 429/503/529 retry (RATE_LIMIT_BACKOFF_BASE, default 1 s). */
  backoffBaseMs: number;
  /** Longest backoff, and longest `Retry-After` still waited for (RATE_LIMIT_BACKOFF_MAX, default 60 s). */
  backoffMaxMs: number;
  /** Retries of one request upstream (RATE_LIMIT_MAX_RETRIES, default 5; 0: none). */
  maxRetries: number;
  /**
   * The sliding window the limits are counted in (file only, default 60 s): a shorter one scales them
   * (40 per minute over 3 s is 2 per 3 s), so that tests see many windows quickly.
   */
  windowMs: number;
}

/** Flags a command may pass; each overrides the environment and the file. */
export interface ConfigOverrides {
  home?: string;
  host?: string;
  port?: number;
  repo?: string;
  databaseUrl?: string;
  baseBranch?: string;
  concurrency?: number;
  logLevel?: KageConfig['logLevel'];
}

const DEFAULTS = {
  timeoutSeconds: 600,
  maxRetries: 3,
  retryDelaySeconds: 5,
  checkTimeoutSeconds: 600,
  killGraceSeconds: 5,
  logLevel: 'warn' as const,
};

function envNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`${name}\` to be a number, got ${showValue(raw)}`, { field: name });
  }
  return value;
}

function envString(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function listOf(raw: string | undefined): string[] | undefined {
  return raw?.split(',').map((s) => s.trim()).filter(Boolean);
}

function readConfigFile(path: string): FileConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KageError('KAGE_INVALID_CONFIG', `Cannot read config file ${path}: ${(err as Error).message}`, { field: 'configFile' });
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new KageError('KAGE_INVALID_CONFIG', `Invalid \`${field}\` in ${path}: ${issue?.message ?? 'invalid'}`, { field });
  }
  return parsed.data;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Never copied into `config.env`: only src/secrets uses them, through `masterKey` and `masterKeyOld`. */
const MASTER_KEY_VARIABLES: readonly string[] = ['KAGE_MASTER_KEY', 'KAGE_MASTER_KEY_OLD'];

/** The variables users already set for their tools, per provider: [base URL variables, key variables]. */
const PROVIDER_ENV: Record<keyof ProviderEndpoints, [string[], string[]]> = {
  anthropic: [['ANTHROPIC_BASE_URL'], ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN']],
  openai: [['OPENAI_BASE_URL'], ['OPENAI_API_KEY']],
  gemini: [['GOOGLE_GEMINI_BASE_URL', 'GEMINI_BASE_URL'], ['GEMINI_API_KEY', 'GOOGLE_API_KEY']],
  // Ollama's cloud API takes a key; a local server needs none.
  ollama: [['OLLAMA_HOST'], ['OLLAMA_API_KEY']],
};

function providersFrom(env: NodeJS.ProcessEnv, file: FileConfig): ProviderEndpoints {
  const pick = (names: string[]): string | null => {
    for (const name of names) {
      const value = envString(env, name);
      if (value !== undefined) return value;
    }
    return null;
  };
  const one = (name: keyof ProviderEndpoints): ProviderEndpoint => {
    const [urlVars, keyVars] = PROVIDER_ENV[name];
    const fromFile = file.providers?.[name];
    return { baseUrl: pick(urlVars) ?? fromFile?.baseUrl ?? null, apiKey: pick(keyVars) ?? fromFile?.apiKey ?? null };
  };
  return { anthropic: one('anthropic'), openai: one('openai'), gemini: one('gemini'), ollama: one('ollama') };
}

function gatewayFrom(env: NodeJS.ProcessEnv, file: FileConfig, providers: ProviderEndpoints): GatewayConfig {
  const raw = envString(env, 'KAGE_GATEWAY')?.toLowerCase();
  if (raw !== undefined && !['1', '0', 'true', 'false', 'on', 'off'].includes(raw)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_GATEWAY\` to be on or off, got ${showValue(raw)}`, { field: 'KAGE_GATEWAY' });
  }
  const enabled = raw === undefined ? file.gateway?.enabled ?? true : ['1', 'true', 'on'].includes(raw);
  const record = envString(env, 'KAGE_RECORD')?.toLowerCase();
  if (record !== undefined && !['1', '0', 'true', 'false', 'on', 'off'].includes(record)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_RECORD\` to be on or off, got ${showValue(record)}`, { field: 'KAGE_RECORD' });
  }
  const replayTiming = envString(env, 'KAGE_REPLAY_TIMING') ?? file.gateway?.replayTiming ?? 'fast';
  if (replayTiming !== 'fast' && replayTiming !== 'recorded') {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_REPLAY_TIMING\` to be fast or recorded, got ${showValue(replayTiming)}`,
      { field: 'KAGE_REPLAY_TIMING' });
  }
  const one = (name: keyof ProviderEndpoints): ProviderEndpoint => {
    const own = file.gateway?.upstreams?.[name];
    return { baseUrl: own?.baseUrl ?? providers[name].baseUrl, apiKey: own?.apiKey ?? providers[name].apiKey };
  };
  const ollama = one('ollama');
  return {
    enabled,
    auth: gatewayAuth(env, file),
    url: gatewayUrl(env, file),
    host: envString(env, 'KAGE_GATEWAY_HOST') ?? file.gateway?.host ?? '127.0.0.1',
    port: envNumber(env, 'KAGE_GATEWAY_PORT') ?? file.gateway?.port ?? 0,
    upstreams: {
      anthropic: one('anthropic'),
      openai: one('openai'),
      gemini: one('gemini'),
      ollama: { ...ollama, baseUrl: ollama.baseUrl === null ? null : ollamaBaseUrl(ollama.baseUrl) },
    },
    prices: { ...(file.gateway?.prices ?? {}) },
    record: record === undefined ? file.gateway?.record ?? false : ['1', 'true', 'on'].includes(record),
    replayTiming,
    maxRecordedBytes: file.gateway?.maxRecordedBytes ?? 16 * 1024 * 1024,
  };
}

/** KAGE_GATEWAY_URL, else the file's `gateway.url`: an http(s) URL, kept without a trailing slash. */
function gatewayUrl(env: NodeJS.ProcessEnv, file: FileConfig): string | null {
  const fromEnv = envString(env, 'KAGE_GATEWAY_URL');
  const raw = fromEnv ?? file.gateway?.url?.trim();
  if (raw === undefined || raw === '') return null;
  const field = fromEnv !== undefined ? 'KAGE_GATEWAY_URL' : 'gateway.url';
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`${field}\` to be the http(s) URL of a \`kage gateway\` (e.g. http://10.0.0.5:8787), got ${showValue(raw)}`,
      { field });
  }
  return url.toString().replace(/\/+$/, '');
}

function gatewayAuth(env: NodeJS.ProcessEnv, file: FileConfig): GatewayAuthMode {
  const raw = envString(env, 'KAGE_GATEWAY_AUTH')?.toLowerCase() ?? file.gateway?.auth ?? 'gateway';
  const mode = GATEWAY_AUTH_MODES.find((m) => m === raw);
  if (mode === undefined) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_GATEWAY_AUTH\` to be gateway or passthrough, got ${showValue(raw)}`, { field: 'KAGE_GATEWAY_AUTH' });
  }
  return mode;
}

/**
 * How an agent authenticates through the gateway: its own `agents.<id>.auth`, else the default. The agent's
 * entry wins over KAGE_GATEWAY_AUTH as well: it is the more specific.
 */
export function agentAuthMode(config: Pick<KageConfig, 'agents' | 'gateway'>, agentId: string): GatewayAuthMode {
  return config.agents[agentId]?.auth ?? config.gateway.auth;
}

function budgetsFrom(env: NodeJS.ProcessEnv, file: FileConfig): BudgetConfig {
  const tokensVar = envString(env, 'KAGE_TOKEN_BUDGET') !== undefined ? 'KAGE_TOKEN_BUDGET' : 'MAX_TOKENS_PER_TASK';
  const tokens = envNumber(env, tokensVar) ?? file.budgets?.taskTokens ?? 50_000;
  if (!Number.isInteger(tokens) || tokens < 0) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`${tokensVar}\` to be a whole number of tokens (0 for none), got ${showValue(tokens)}`, { field: tokensVar });
  }
  const threshold = envNumber(env, 'TOKEN_WARNING_THRESHOLD') ?? file.budgets?.warningThreshold ?? 0.8;
  if (!(threshold > 0 && threshold <= 1)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`TOKEN_WARNING_THRESHOLD\` above 0 and at most 1, got ${showValue(threshold)}`, { field: 'TOKEN_WARNING_THRESHOLD' });
  }
  const split = envString(env, 'KAGE_BUDGET_SPLIT') ?? file.budgets?.split ?? 'split';
  if (split !== 'split' && split !== 'shared') {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_BUDGET_SPLIT\` to be split or shared, got ${showValue(split)}`, { field: 'KAGE_BUDGET_SPLIT' });
  }
  const usd = envNumber(env, 'KAGE_USD_BUDGET') ?? file.budgets?.taskUsd ?? null;
  if (usd !== null && usd < 0) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_USD_BUDGET\` to be at least 0, got ${showValue(usd)}`, { field: 'KAGE_USD_BUDGET' });
  }
  return { taskTokens: tokens === 0 ? null : tokens, warningThreshold: threshold, split, taskUsd: usd === 0 ? null : usd };
}

/** The largest accepted limit, used as "no limit". */
const UNLIMITED_REQUESTS_PER_MINUTE = 1_000_000;

function rateLimitsFrom(env: NodeJS.ProcessEnv, file: FileConfig): RateLimitConfig {
  const own = file.rateLimits;
  const checked = (name: string, value: number, min: number, max: number, integer: boolean): number => {
    if ((integer && !Number.isInteger(value)) || value < min || value > max) {
      throw new KageError('KAGE_INVALID_CONFIG', `Expected \`${name}\` between ${min} and ${max}, got ${showValue(value)}`, { field: name });
    }
    return value;
  };
  const tokens = envNumber(env, 'KAGE_TOKENS_PER_MINUTE') ?? own?.tokensPerMinute ?? null;
  const defaults: ProviderRateLimitConfig = {
    requestsPerMinute: checked('MAX_REQUESTS_PER_MINUTE', envNumber(env, 'MAX_REQUESTS_PER_MINUTE') ?? own?.requestsPerMinute ?? 50, 1, 1_000_000, true),
    tokensPerMinute: tokens === null || tokens === 0 ? null : checked('KAGE_TOKENS_PER_MINUTE', tokens, 1, Number.MAX_SAFE_INTEGER, true),
    maxWaitMs: Math.round(checked('KAGE_RATE_LIMIT_MAX_WAIT', envNumber(env, 'KAGE_RATE_LIMIT_MAX_WAIT') ?? own?.maxWaitSeconds ?? 300, 0, 86_400, false) * 1000),
  };
  // The file's per-provider entries override the defaults, environment included: they are the more specific.
  const provider = (name: keyof ProviderEndpoints): ProviderRateLimitConfig => {
    const o = own?.providers?.[name];
    return {
      // A local Ollama has no provider quota to protect: it is unlimited unless its own entry sets a limit.
      requestsPerMinute: o?.requestsPerMinute ?? (name === 'ollama' ? UNLIMITED_REQUESTS_PER_MINUTE : defaults.requestsPerMinute),
      tokensPerMinute: o?.tokensPerMinute === undefined ? defaults.tokensPerMinute : o.tokensPerMinute,
      maxWaitMs: o?.maxWaitSeconds === undefined ? defaults.maxWaitMs : Math.round(o.maxWaitSeconds * 1000),
    };
  };
  const baseS = checked('RATE_LIMIT_BACKOFF_BASE', envNumber(env, 'RATE_LIMIT_BACKOFF_BASE') ?? own?.backoffBaseSeconds ?? 1, 0, 3600, false);
  const maxS = checked('RATE_LIMIT_BACKOFF_MAX', envNumber(env, 'RATE_LIMIT_BACKOFF_MAX') ?? own?.backoffMaxSeconds ?? 60, baseS, 3600, false);
  return {
    ...defaults,
    providers: { anthropic: provider('anthropic'), openai: provider('openai'), gemini: provider('gemini'), ollama: provider('ollama') },
    backoffBaseMs: Math.round(baseS * 1000),
    backoffMaxMs: Math.round(maxS * 1000),
    maxRetries: checked('RATE_LIMIT_MAX_RETRIES', envNumber(env, 'RATE_LIMIT_MAX_RETRIES') ?? own?.maxRetries ?? 5, 0, 20, true),
    windowMs: Math.round((own?.windowSeconds ?? 60) * 1000),
  };
}

/** Builds the one configuration object; `env` defaults to the process environment. */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): KageConfig {
  const home = resolve(overrides.home ?? envString(env, 'KAGE_HOME') ?? join(homedir(), '.kage'));
  const explicitFile = envString(env, 'KAGE_CONFIG');
  const defaultFile = join(home, 'config.json');
  const configFile = explicitFile ? resolve(explicitFile) : existsSync(defaultFile) ? defaultFile : null;
  if (explicitFile && !existsSync(configFile!)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Config file ${showValue(explicitFile)} from \`KAGE_CONFIG\` does not exist`, { field: 'KAGE_CONFIG' });
  }
  const file = configFile ? readConfigFile(configFile) : {};

  const seconds = (name: string, fromFile: number | undefined, fallback: number): number =>
    Math.round((envNumber(env, name) ?? fromFile ?? fallback) * 1000);

  const concurrency = overrides.concurrency ?? envNumber(env, 'KAGE_CONCURRENCY') ?? file.concurrency ?? null;
  if (concurrency !== null && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`concurrency\` between 1 and 64, got ${showValue(concurrency)}`, { field: 'concurrency' });
  }
  const maxRetries = envNumber(env, 'KAGE_MAX_RETRIES') ?? file.maxRetries ?? DEFAULTS.maxRetries;
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > 10) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_MAX_RETRIES\` between 0 and 10, got ${showValue(maxRetries)}`, { field: 'KAGE_MAX_RETRIES' });
  }
  const logLevel = overrides.logLevel ?? envString(env, 'KAGE_LOG_LEVEL') ?? file.logLevel ?? DEFAULTS.logLevel;
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(logLevel)) {
    throw new KageError('KAGE_INVALID_CONFIG', `Expected \`KAGE_LOG_LEVEL\` to be one of ${levels.join(', ')}, got ${showValue(logLevel)}`, { field: 'KAGE_LOG_LEVEL' });
  }

  const providers = providersFrom(env, file);
  const config: KageConfig = {
    home,
    configFile,
    databaseUrl: overrides.databaseUrl ?? envString(env, 'DATABASE_URL') ?? file.databaseUrl ?? null,
    pgBinDir: envString(env, 'KAGE_PG_BINDIR') ?? file.pgBinDir ?? null,
    baseBranch: overrides.baseBranch ?? envString(env, 'BASE_BRANCH') ?? file.baseBranch ?? null,
    concurrency,
    timeoutMs: seconds('KAGE_TIMEOUT', file.timeoutSeconds, DEFAULTS.timeoutSeconds),
    maxRetries,
    retryDelayMs: seconds('KAGE_RETRY_DELAY', file.retryDelaySeconds, DEFAULTS.retryDelaySeconds),
    checkTimeoutMs: seconds('KAGE_CHECK_TIMEOUT', file.checkTimeoutSeconds, DEFAULTS.checkTimeoutSeconds),
    killGraceMs: seconds('KAGE_KILL_GRACE', file.killGraceSeconds, DEFAULTS.killGraceSeconds),
    envAllowlist: [
      ...(file.envAllowlist ?? []),
      ...(envString(env, 'KAGE_ENV_ALLOW')?.split(',').map((s) => s.trim()).filter(Boolean) ?? []),
    ],
    logLevel: logLevel as KageConfig['logLevel'],
    agents: file.agents ?? {},
    providers,
    gateway: gatewayFrom(env, file, providers),
    budgets: budgetsFrom(env, file),
    rateLimits: rateLimitsFrom(env, file),
    agentsDir: resolve(envString(env, 'KAGE_AGENTS_DIR') ?? file.agentsDir
      ?? join(envString(env, 'XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'kage', 'agents')),
    server: {
      host: overrides.host ?? envString(env, 'KAGE_HOST') ?? file.server?.host ?? '127.0.0.1',
      port: overrides.port ?? envNumber(env, 'KAGE_PORT') ?? file.server?.port ?? 8003,
      repo: overrides.repo ?? envString(env, 'KAGE_REPO') ?? file.server?.repo ?? null,
      apiKeys: listOf(envString(env, 'KAGE_API_KEYS') ?? envString(env, 'API_KEYS')) ?? file.server?.apiKeys ?? [],
      bodyLimitBytes: envNumber(env, 'KAGE_BODY_LIMIT') ?? file.server?.bodyLimitBytes ?? 1024 * 1024,
      rateLimitPerMinute: envNumber(env, 'KAGE_RATE_LIMIT') ?? file.server?.rateLimitPerMinute ?? 600,
      maxQueuedClones: envNumber(env, 'KAGE_MAX_QUEUED') ?? file.server?.maxQueuedClones ?? 1000,
      corsOrigins: listOf(envString(env, 'KAGE_CORS_ORIGINS')) ?? file.server?.corsOrigins ?? [],
      streamTokenTtlMs: (envNumber(env, 'KAGE_STREAM_TOKEN_TTL') ?? file.server?.streamTokenTtlSeconds ?? 300) * 1000,
      shutdownGraceMs: (envNumber(env, 'KAGE_SHUTDOWN_GRACE') ?? file.server?.shutdownGraceSeconds ?? 30) * 1000,
      sseHeartbeatMs: envNumber(env, 'KAGE_SSE_HEARTBEAT_MS') ?? file.server?.sseHeartbeatMs ?? 15_000,
    },
    masterKey: envString(env, 'KAGE_MASTER_KEY') ?? null,
    masterKeyOld: envString(env, 'KAGE_MASTER_KEY_OLD') ?? null,
    env: Object.fromEntries(Object.entries(env).filter((e): e is [string, string] =>
      typeof e[1] === 'string' && !MASTER_KEY_VARIABLES.includes(e[0]))),
  };
  for (const [name, ms] of [['KAGE_TIMEOUT', config.timeoutMs], ['KAGE_CHECK_TIMEOUT', config.checkTimeoutMs]] as const) {
    if (ms < 1000) {
      throw new KageError('KAGE_INVALID_CONFIG', `Expected \`${name}\` of at least 1 second, got ${ms / 1000}`, { field: name });
    }
  }
  const ranges: [string, number, number, number][] = [
    ['KAGE_PORT', config.server.port, 0, 65_535],
    ['KAGE_GATEWAY_PORT', config.gateway.port, 0, 65_535],
    ['KAGE_BODY_LIMIT', config.server.bodyLimitBytes, 1024, 100 * 1024 * 1024],
    ['KAGE_RATE_LIMIT', config.server.rateLimitPerMinute, 1, 1_000_000],
    ['KAGE_MAX_QUEUED', config.server.maxQueuedClones, 1, 1_000_000],
    ['KAGE_SSE_HEARTBEAT_MS', config.server.sseHeartbeatMs, 10, 600_000],
  ];
  for (const [name, value, min, max] of ranges) {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new KageError('KAGE_INVALID_CONFIG', `Expected \`${name}\` between ${min} and ${max}, got ${showValue(value)}`, { field: name });
    }
  }
  return deepFreeze(config);
}
