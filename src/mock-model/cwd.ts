// Finds the agent's working directory in the request text, so write tools that want an absolute path get
// one. Each CLI states it in its own words; the patterns below were read off real requests.

const PATTERNS: readonly RegExp[] = [
  // Claude Code: a mid-conversation `role:"system"` message (earlier versions: the system prompt) with
  // "Primary working directory: /abs/path".
  /Primary working directory:\s*(\/[^\n]*)/,
  // Codex: the first user message's `<environment_context>` holds `<cwd>/abs/path</cwd>`.
  /<cwd>\s*(\/[^<\n]*?)\s*<\/cwd>/,
  // Qwen Code 0.15: a user message before the prompt, "I'm currently working in the directory: /abs/path"
  // (older Gemini CLI versions said the same). Its write_file rejects relative paths.
  /currently working in the directory:\s*(\/[^\n]*)/,
  // OpenCode: the system prompt's `<env>` block, "  Working directory: /abs/path".
  /^\s*Working directory:\s*(\/[^\n]*)/m,
  // Gemini CLI 0.61: the `<session_context>` user part lists "- **Workspace Directories:**" and then
  // "  - /abs/path", the cwd first. (Its write_file also accepts a relative path.)
  /\*\*Workspace Directories:\*\*\s*\n\s*-\s*(\/[^\n]*)/,
];

/** The first working directory stated in `texts`, or null when none is. */
export function findWorkingDirectory(texts: readonly string[]): string | null {
  for (const pattern of PATTERNS) {
    for (const text of texts) {
      const match = pattern.exec(text);
      const dir = match?.[1]?.trim();
      if (dir) return dir;
    }
  }
  return null;
}
