// What `kage doctor` and `GET /api/v1/agents` say about each agent: found or missing, which version, where
// its model endpoint is, how it authenticates through the gateway, and what to do when it cannot run.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { agentAuthMode, type KageConfig } from '../config/config.js';
import type { GatewayAuthMode } from '../domain/index.js';
import { buildChildEnv, DEFAULT_ENV_ALLOWLIST } from '../process/environment.js';
import { runProcess } from '../process/supervisor.js';
import type { AgentAdapter, ProviderEndpoints } from './adapter.js';
import { probeTcp } from './api-worker/connect.js';
import { ollamaBaseUrl } from './api-worker/providers/ollama-host.js';
import { findCliBinary, managedBinDir } from './cli-binaries.js';
import type { AgentRegistry } from './registry.js';

const VERSION_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 1_000;

/** Defaults each CLI uses when no base URL is configured, for display. */
const DEFAULT_BASE_URLS: Record<keyof ProviderEndpoints, string> = {
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
  gemini: 'https://generativelanguage.googleapis.com',
  ollama: 'http://127.0.0.1:11434',
};

const KEY_VARIABLES: Record<keyof ProviderEndpoints, string> = {
  anthropic: 'ANTHROPIC_API_KEY',
  openai: 'OPENAI_API_KEY',
  gemini: 'GEMINI_API_KEY',
  ollama: '',
};

export interface AgentStatus {
  id: string;
  aliases: string[];
  description: string;
  kind: 'cli' | 'api' | 'builtin';
  /** Whether a clone with this agent can start here. */
  usable: boolean;
  binary: string | null;
  /** Where the binary was found: the config's `bin`, PATH, or kage's install dir. */
  binarySource: 'config' | 'path' | 'kage' | null;
  version: string | null;
  pinnedVersion: string | null;
  provider: keyof ProviderEndpoints | null;
  endpoint: string | null;
  apiKeySet: boolean | null;
  /** How it authenticates through the gateway (`agents.<id>.auth`, KAGE_GATEWAY_AUTH); null for agents without a model. */
  auth: GatewayAuthMode | null;
  /**
   * In passthrough, the credentials of its own it has: `API key` (kage's provider key, handed to it) and each
   * login file of its CLI found in the user's HOME (`~/.claude/.credentials.json`); null in gateway mode.
   */
  ownCredentials: string[] | null;
  /** Why it cannot run (when not usable) and what may go wrong (when it can). */
  problems: string[];
  /** How to make it usable; null when nothing is needed. */
  fix: string | null;
}

export async function inspectAgents(registry: AgentRegistry, config: KageConfig): Promise<AgentStatus[]> {
  const home = join(config.home, 'tmp', 'doctor-home');
  await mkdir(home, { recursive: true });
  return Promise.all(registry.list().map((adapter) => inspectAgent(adapter, config, home)));
}

async function inspectAgent(adapter: AgentAdapter, config: KageConfig, home: string): Promise<AgentStatus> {
  const provider = adapter.provider ?? null;
  const endpoint = provider === null ? null : config.providers[provider];
  const status: AgentStatus = {
    id: adapter.id,
    aliases: [...adapter.aliases],
    description: adapter.description,
    kind: adapter.cli !== undefined ? 'cli' : provider !== null ? 'api' : 'builtin',
    usable: true,
    binary: null,
    binarySource: null,
    version: null,
    pinnedVersion: adapter.cli?.version ?? null,
    provider,
    endpoint: provider === null ? null : provider === 'ollama' ? ollamaBaseUrl(endpoint?.baseUrl ?? undefined)
      : endpoint?.baseUrl ?? DEFAULT_BASE_URLS[provider],
    apiKeySet: provider === null || provider === 'ollama' ? null : endpoint?.apiKey != null,
    auth: provider === null ? null : agentAuthMode(config, adapter.id),
    ownCredentials: null,
    problems: [],
    fix: null,
  };
  const agentConfig = config.agents[adapter.id] ?? {};
  const env = buildChildEnv({ base: config.env, allow: [...DEFAULT_ENV_ALLOWLIST, ...config.envAllowlist], home, extra: agentConfig.env ?? {} });

  if (adapter.cli !== undefined) {
    const found = findCliBinary(adapter.cli, { configured: agentConfig.bin ?? null, pathEnv: env.PATH, agentsDir: config.agentsDir });
    if (found === null) {
      status.usable = false;
      status.problems.push(agentConfig.bin
        ? `\`agents.${adapter.id}.bin\` is ${agentConfig.bin}, which is not an executable file`
        : `\`${adapter.cli.command}\` is not on PATH nor in ${managedBinDir(config.agentsDir)}`);
      status.fix = `kage agents install (or npm i -g ${adapter.cli.npmPackage}@${adapter.cli.version})`;
    } else {
      status.binary = found.path;
      status.binarySource = found.source;
      const stdout: string[] = [];
      const result = await runProcess({ argv: [found.path, ...adapter.cli.versionArgs], cwd: home, env, stdin: { kind: 'ignore' },
        timeoutMs: VERSION_TIMEOUT_MS, killGraceMs: 1_000, onLine: (line, stream) => {
          if (stream === 'stdout') stdout.push(line);
        } });
      // The first thing on stdout that looks like a version (`2.1.332 (Claude Code)`, `codex-cli 0.171.0`).
      const version = /\d+\.\d+\.\d+[\w.-]*/.exec(stdout.join('\n'))?.[0] ?? null;
      if (result.exitCode !== 0 || version === null) {
        status.usable = false;
        const why = result.spawnError ?? (result.timedOut ? 'timed out' : `exit ${result.exitCode ?? result.signal}`);
        const stderr = result.stderrTail.trim().slice(-300);
        status.problems.push(`\`${found.path} ${adapter.cli.versionArgs.join(' ')}\` failed (${why})${stderr ? `: ${stderr}` : ''}`);
        status.fix = `kage agents install (or npm i -g ${adapter.cli.npmPackage}@${adapter.cli.version})`;
      } else {
        status.version = version;
        if (version !== adapter.cli.version) {
          status.problems.push(`version ${version} is not the tested ${adapter.cli.version}; its output may differ`);
        }
      }
    }
  }
  if (status.auth === 'passthrough' && provider !== null) {
    const userHome = config.env.HOME;
    const logins = userHome === undefined || userHome === '' ? [] : (adapter.loginFiles ?? []).filter((file) => existsSync(join(userHome, file)));
    status.ownCredentials = [...(endpoint?.apiKey != null ? ['API key'] : []), ...logins.map((file) => `~/${file}`)];
    if (status.ownCredentials.length === 0 && provider !== 'ollama') {
      const login = (adapter.loginFiles ?? []).map((file) => ` or log in with the CLI (~/${file})`).join('');
      status.problems.push(`passthrough with no credentials of its own: set ${KEY_VARIABLES[provider]} or providers.${provider}.apiKey${login}`);
    }
  } else if (status.apiKeySet === false && provider !== null) {
    status.problems.push(`no API key: set ${KEY_VARIABLES[provider]} or providers.${provider}.apiKey (unless the agent logs in on its own)`);
  }
  if (provider === 'ollama' && status.endpoint !== null) {
    const reachable = await probeTcp('Ollama', status.endpoint, PROBE_TIMEOUT_MS).then(() => true, () => false);
    if (!reachable) status.problems.push(`nothing listens at ${status.endpoint}: start \`ollama serve\` or set OLLAMA_HOST`);
  }
  return status;
}
