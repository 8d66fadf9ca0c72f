// Live per-clone progress while a task runs: redrawn in place on a TTY, one plain line per change otherwise.
import type { CloneRecord, EventRecord } from '../domain/index.js';

export interface ProgressView {
  update(clones: CloneRecord[], events: EventRecord[]): void;
  close(): void;
}

export function createProgressView(out: NodeJS.WriteStream, taskId: string): ProgressView {
  const tty = out.isTTY === true;
  let drawnLines = 0;
  const lastPlain = new Map<string, string>();
  const started = Date.now();

  const lineFor = (c: CloneRecord): string => {
    const state = c.status.padEnd(15);
    const event = (c.lastEvent ?? '').replace(/\s+/g, ' ');
    return `${c.name.padEnd(16)} ${state} ${event}`;
  };

  return {
    update(clones) {
      if (tty) {
        const width = out.columns && out.columns > 20 ? out.columns : 120;
        const lines = [`task ${taskId.slice(0, 8)}  ${((Date.now() - started) / 1000).toFixed(1)}s`, ...clones.map(lineFor)]
          .map((l) => (l.length > width - 1 ? `${l.slice(0, width - 2)}…` : l));
        let text = drawnLines > 0 ? `\x1b[${drawnLines}A` : '';
        for (const l of lines) text += `\x1b[2K${l}\n`;
        out.write(text);
        drawnLines = lines.length;
        return;
      }
      for (const c of clones) {
        const line = lineFor(c).trimEnd();
        if (lastPlain.get(c.name) !== line) {
          lastPlain.set(c.name, line);
          out.write(`${line}\n`);
        }
      }
    },
    close() {
      drawnLines = 0;
    },
  };
}
