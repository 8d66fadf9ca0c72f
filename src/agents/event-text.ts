// Bounds on the text an adapter puts into one event, so a chatty agent cannot bloat the event log.

/** Longest agent message kept in one `message` or `result` event. */
export const MAX_MESSAGE_CHARS = 16_000;
/** Longest tool output kept in one `tool_result` event (tools can return whole files). */
export const MAX_TOOL_OUTPUT_CHARS = 4_000;

/** Cuts `text` to at most `maxChars` characters, marking the cut with an ellipsis. */
export function clipText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}
