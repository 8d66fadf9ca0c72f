// The API worker's output format: one JSON object per line on stdout, kage's own dialect, read by
// ../api-worker-parser.ts. Every run prints `session` first and `result` last (unless killed):
//
//   {"type":"session","session_id":"…","provider":"ollama","model":"…","cwd":"…","tools":["read_file",…]}
//   {"type":"message","text":"…"}                               the model's text in one answer
//   {"type":"tool_use","id":"call_1","name":"write_file","input":{…}}
//   {"type":"tool_result","id":"call_1","output":"…","is_error":false}
//   {"type":"usage","input_tokens":120,"output_tokens":30,"cache_read_tokens":0,"cache_write_tokens":0}
//                                                               one request's tokens; add them up
//   {"type":"error","kind":"unreachable","status":null,"message":"cannot reach Ollama at …"}
//   {"type":"result","ok":true,"text":"…","num_turns":2,"duration_ms":840}
//
// Usage input tokens exclude those read from or written to the prompt cache; lines printed before the cache
// fields existed lack them (read as 0).
//
// A tool refusing or failing is a `tool_result` with `is_error: true`, not an `error`: the model reads it
// and carries on. `error` means the run itself failed; its `kind` is one of the normalized agent error kinds.
import type { AgentErrorKind } from '../../domain/index.js';

export type WorkerErrorKind = AgentErrorKind;

export type WorkerRecord =
  | { type: 'session'; session_id: string; provider: string; model: string; cwd: string; tools: string[] }
  | { type: 'message'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; id: string; output: string; is_error: boolean }
  | { type: 'usage'; input_tokens: number; output_tokens: number; cache_read_tokens: number; cache_write_tokens: number }
  | { type: 'error'; kind: WorkerErrorKind; status: number | null; message: string }
  | { type: 'result'; ok: boolean; text: string; num_turns: number; duration_ms: number };
