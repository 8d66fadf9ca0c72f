// The agent CLIs kage drives, at the versions it is tested with. `kage agents install` installs exactly
// these into a directory keyed by this list, so changing a pin installs afresh and never mixes versions.
import { createHash } from 'node:crypto';
import type { CliSpec } from './adapter.js';

export const CLI_PINS = Object.freeze({
  // 2.1.332 declares Node >= 22 but is a native binary: Node's version does not matter to it.
  'claude-code': Object.freeze({ command: 'claude', npmPackage: '@anthropic-ai/claude-code', version: '2.1.332', versionArgs: Object.freeze(['--version']) }),
  codex: Object.freeze({ command: 'codex', npmPackage: '@openai/codex', version: '0.171.0', versionArgs: Object.freeze(['--version']) }),
  'gemini-cli': Object.freeze({ command: 'gemini', npmPackage: '@google/gemini-cli', version: '0.61.0', versionArgs: Object.freeze(['--version']) }),
  opencode: Object.freeze({ command: 'opencode', npmPackage: 'opencode-ai', version: '1.18.33', versionArgs: Object.freeze(['--version']) }),
  // The newest release that supports Node 20 (0.16 and later want Node 22).
  'qwen-code': Object.freeze({ command: 'qwen', npmPackage: '@qwen-code/qwen-code', version: '0.15.10', versionArgs: Object.freeze(['--version']) }),
} satisfies Record<string, CliSpec>);

export type PinnedAgentId = keyof typeof CLI_PINS;

/** Packages whose install scripts must run (they link their platform binary in place). */
export const PACKAGES_WITH_INSTALL_SCRIPTS: readonly string[] = Object.freeze(['@anthropic-ai/claude-code', 'opencode-ai']);

/** Short hash of every pin: the name of the install directory under the agents dir. */
export function pinsKey(): string {
  const text = Object.values(CLI_PINS).map((pin) => `${pin.npmPackage}@${pin.version}`).sort().join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
