// The services the orchestration code needs, built once by the composition root (main/).
import type { Logger } from 'pino';
import type { KageConfig } from '../config/config.js';
import type { GatewayGrant, GatewayProvider } from '../domain/index.js';
import type { AgentRegistry } from '../agents/registry.js';
import type { EventLog } from '../events/event-log.js';
import type { CloneQueue } from '../queue/clone-queue.js';
import type { PgStore } from '../store/pg-store.js';
import type { RepoHeads } from '../workspace/repo-heads.js';
import type { WorktreeManager } from '../workspace/worktrees.js';

/** Why a running clone's process is being stopped by this process. */
export type StopReason =
  /** The user cancelled the clone or its task. */
  | 'cancel'
  /** This process is stopping; the attempt goes back to the queue. */
  | 'shutdown'
  /** The gateway refused the clone's request because its token or USD budget is spent. */
  | 'budget';

export interface RunningClone {
  taskId: string;
  controller: AbortController;
  stopReason: StopReason | null;
  /** Why, in words, when the reason carries one (the gateway's budget message). */
  stopMessage?: string;
}

/** The LLM gateway as the clone runner sees it (src/gateway/ builds it; main/ hands it over). */
export interface CloneGateway {
  /** Base URL per provider, in the form each provider's variable takes. */
  baseUrls(): Record<GatewayProvider, string>;
  /** A fresh token that stands for the clone: it goes to the agent as its API key, in place of the real one. */
  issueToken(grant: GatewayGrant): Promise<string>;
  revokeToken(token: string): Promise<void>;
  /**
   * A gateway in another process (`kage gateway`): its recorded budget refusal of the clone, or null. That
   * gateway's stop is a NOTIFY (a hint); this is asked when an attempt failed with no stop received. An
   * in-process gateway stops the clone directly and has no need of it.
   */
  budgetRefusal?(grant: GatewayGrant): Promise<string | null>;
}

export interface CoreContext {
  config: KageConfig;
  store: PgStore;
  queue: CloneQueue;
  events: EventLog;
  agents: AgentRegistry;
  worktrees: WorktreeManager;
  /** Branch commits of the repositories tasks are submitted for, without a git process per question. */
  repos: RepoHeads;
  log: Logger;
  /** `<hostname>:<pid>:<random>`; recorded on clones this process runs. */
  workerId: string;
  /**
   * Every clone's model traffic goes through it: this process's own, or a `kage gateway` elsewhere (gateway.url);
   * null when the gateway is off (agents get the real endpoints and keys).
   */
  gateway: CloneGateway | null;
  /** Clones whose agent this process is running now, by clone id. */
  running: Map<string, RunningClone>;
}

/** Seconds a clone job may stay claimed before pg-boss gives up on it; generous, kage enforces real timeouts. */
export function jobExpirySeconds(timeoutMs: number, checkTimeoutMs: number): number {
  return Math.ceil((timeoutMs + 2 * checkTimeoutMs) / 1000) + 600;
}
