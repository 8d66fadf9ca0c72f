// Marks the built CLI entry points executable (tsc does not keep file modes).
import { chmodSync, existsSync } from 'node:fs';

for (const file of ['dist/cli/main.js', 'dist/agents/fake-agent.js', 'dist/agents/api-worker.js']) {
  if (existsSync(file)) chmodSync(file, 0o755);
}
