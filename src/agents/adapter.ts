// The one interface every agent adapter implements. An adapter builds a command and parses output lines;
// it never spawns, sleeps or touches the store (the process supervisor and the clone runner do that).
import type { AgentEvent } from '../domain/index.js';

export interface AgentRunInput {
  /** The task description. Passed as one argv element or on stdin, never through a shell. */
  prompt: string;
  model: string | null;
  /** Absolute path of the clone's worktree; the process runs there. */
  worktree: string;
  /** Absolute path of the clone's private HOME (XDG dirs live under it). */
  home: string;
  /** Session to resume (from a previous attempt's `session` event), when the adapter supports it. */
  resumeSessionId: string | null;
  /** Free-form per-clone options (the fake agent's behaviour, extra args, a shell argv template, ...). */
  options: Record<string, unknown>;
  /** Environment the supervisor will pass, already filtered by the allowlist. */
  env: Readonly<Record<string, string>>;
  /**
   * Model endpoints and keys (from ANTHROPIC_BASE_URL, OPENAI_API_KEY, ... or the config file's `providers`).
   * Each adapter hands its CLI what that CLI needs, under the CLI's own variable names or config file; keys
   * never reach an agent that does not use that provider.
   */
  providers: ProviderEndpoints;
  /** Absolute path of the CLI executable found for this adapter (config `bin`, PATH, kage's install dir); null for non-CLI adapters. */
  binary: string | null;
  /**
   * Which of the adapter's `loginFiles` were copied into `home` from the user's own HOME (a passthrough clone
   * whose CLI logs in on its own); absent or empty otherwise.
   */
  logins?: readonly string[];
}

export interface ProviderEndpoint {
  /** Base URL as that provider's own variable holds it (Anthropic and Gemini without `/v1`, OpenAI with it); null = the CLI's default. */
  baseUrl: string | null;
  apiKey: string | null;
}

export interface ProviderEndpoints {
  anthropic: ProviderEndpoint;
  openai: ProviderEndpoint;
  gemini: ProviderEndpoint;
  /** OLLAMA_HOST form (`host:port` or a URL); apiKey unused. */
  ollama: ProviderEndpoint;
}

const NO_ENDPOINT: ProviderEndpoint = Object.freeze({ baseUrl: null, apiKey: null });

/** No endpoint configured for any provider: every CLI uses its own default. */
export const NO_PROVIDERS: ProviderEndpoints = Object.freeze({ anthropic: NO_ENDPOINT, openai: NO_ENDPOINT, gemini: NO_ENDPOINT, ollama: NO_ENDPOINT });

/** An agent that is an installed CLI: how to find it, install it and ask its version. */
export interface CliSpec {
  /** Executable name looked up on PATH and in kage's install dir. */
  command: string;
  /** npm package and the version kage is tested with (`kage agents install` installs exactly this). */
  npmPackage: string;
  version: string;
  /** Arguments that print the version (`--version`). */
  versionArgs: readonly string[];
}

export interface AgentCommand {
  /** argv[0] is the executable; never a shell string. */
  argv: string[];
  /** Variables added to the allowlisted environment. */
  env: Record<string, string>;
  /** `ignore` closes stdin (several CLIs hang on an open stdin); `text` pipes the prompt then closes it. */
  stdin: { kind: 'ignore' } | { kind: 'text'; text: string };
  /** Files written under the clone's HOME before the run (CLI settings), paths relative to HOME. */
  homeFiles: { path: string; content: string }[];
}

/** Stateful parser for one run's output. */
export interface AgentOutputParser {
  /** One line of stdout (or stderr) without its newline; returns the normalized events it carries. */
  line(text: string, stream: 'stdout' | 'stderr'): AgentEvent[];
  /** Called once when the process ended; returns events implied by the end of output. */
  end(): AgentEvent[];
}

export interface AgentAdapter {
  /** Registry id, e.g. `claude-code`. */
  readonly id: string;
  /** Other names accepted for this adapter (v1's `gemini` for `gemini-cli`). */
  readonly aliases: readonly string[];
  readonly description: string;
  /** Whether `resumeSessionId` is honoured. */
  readonly supportsResume: boolean;
  /** The model provider whose endpoint and key the agent uses; absent for agents without a model. */
  readonly provider?: keyof ProviderEndpoints;
  /** Set for adapters that drive an installed CLI; absent for kage's own workers (fake, shell, API worker). */
  readonly cli?: CliSpec;
  /**
   * Where the CLI keeps its own login (a subscription's OAuth credentials), relative to HOME. In passthrough
   * those present in the user's HOME are copied into the clone's, so the CLI signs in as the user.
   */
  readonly loginFiles?: readonly string[];
  buildCommand(input: AgentRunInput): AgentCommand;
  createParser(): AgentOutputParser;
}
