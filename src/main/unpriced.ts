// A model the price table does not know is metered at $0: its tokens still count, but a USD budget never
// sees them. Said once per model in the log and once per task as a `gateway_unpriced_model` event, with the
// config key that fixes it. Local Ollama models are free and never reported.
import type { Logger } from 'pino';
import type { GatewayRequestRecord } from '../domain/index.js';
import type { EventLog } from '../events/event-log.js';
import { createPriceTable, type ModelPrice } from '../gateway/index.js';

/** Tasks remembered as told; past this the memory starts over (a task may then hear it once more). */
const TOLD_MAX = 10_000;

export function createUnpricedNotice(prices: Readonly<Record<string, ModelPrice>>, events: Pick<EventLog, 'emit'>, log: Logger) {
  const table = createPriceTable(prices);
  const logged = new Set<string>();
  const told = new Set<string>();
  return (r: GatewayRequestRecord): void => {
    if (r.model === null || r.provider === 'ollama' || r.costUsd > 0) return;
    if (r.inputTokens + r.outputTokens + r.cacheReadTokens + r.cacheWriteTokens === 0 || table.lookup(r.model) !== null) return;
    const hint = `add a \`gateway.prices\` entry for ${JSON.stringify(r.model)} (USD per million input and output tokens) to the config file`;
    if (!logged.has(r.model) && logged.size < TOLD_MAX) {
      logged.add(r.model);
      log.warn({ model: r.model, provider: r.provider }, `no price for model ${r.model}: metered at $0; ${hint}`);
    }
    const key = `${r.taskId}\0${r.model}`;
    if (told.has(key)) return;
    if (told.size >= TOLD_MAX) told.clear();
    told.add(key);
    events.emit(r.taskId, r.cloneId, 'gateway_unpriced_model', { model: r.model, provider: r.provider, hint });
  };
}
