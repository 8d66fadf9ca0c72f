// One-line summaries of agent events for progress displays and the clone's `last_event`.
import type { AgentEvent } from '../domain/index.js';

const MAX = 100;

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX ? `${flat.slice(0, MAX - 3)}...` : flat;
}

export function summarizeAgentEvent(e: AgentEvent): string | null {
  switch (e.kind) {
    case 'message':
      return clip(e.text) || null;
    case 'tool_use':
      return clip(`tool ${e.name}`);
    case 'tool_result':
      return e.isError ? clip(`tool error: ${e.output}`) : null;
    case 'error':
      return clip(`error${e.status ? ` ${e.status}` : ''}: ${e.message}`);
    case 'result':
      return clip(e.ok ? `done: ${e.text}` : `failed: ${e.text}`);
    case 'session':
    case 'usage':
      return null;
  }
}
