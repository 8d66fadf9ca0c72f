// The tools the API worker offers the model: names, descriptions and JSON-schema parameters, in a
// provider-neutral shape each provider wraps in its own function-calling format.

export interface ToolSpec {
  name: ToolName;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: { type: 'object'; properties: Record<string, unknown>; required: string[] };
}

export type ToolName = 'read_file' | 'write_file' | 'edit_file' | 'list_files' | 'search' | 'run_command';

const PATH = { type: 'string', description: 'Path relative to the working directory' };

export const TOOL_SPECS: readonly ToolSpec[] = Object.freeze([
  {
    name: 'read_file',
    description: 'Read a text file.',
    parameters: { type: 'object', properties: { path: PATH }, required: ['path'] },
  },
  {
    name: 'write_file',
    description: 'Create or overwrite a file with the given content (parent directories are created).',
    parameters: { type: 'object', properties: { path: PATH, content: { type: 'string' } }, required: ['path', 'content'] },
  },
  {
    name: 'edit_file',
    description: 'Replace old_text with new_text in a file. old_text must occur exactly once, character for character.',
    parameters: {
      type: 'object',
      properties: { path: PATH, old_text: { type: 'string' }, new_text: { type: 'string' } },
      required: ['path', 'old_text', 'new_text'],
    },
  },
  {
    name: 'list_files',
    description: 'List the files under a directory (default: the working directory), recursively.',
    parameters: { type: 'object', properties: { path: PATH }, required: [] },
  },
  {
    name: 'search',
    description: 'Find lines containing a plain text (not a regular expression) in the files under a directory.',
    parameters: { type: 'object', properties: { text: { type: 'string' }, path: PATH }, required: ['text'] },
  },
  {
    name: 'run_command',
    description:
      'Run a program in the working directory, without a shell: argv[0] is the program, the rest its arguments. ' +
      'Returns the exit code and the combined output.',
    parameters: {
      type: 'object',
      properties: {
        argv: { type: 'array', items: { type: 'string' }, description: 'Program and arguments, e.g. ["npm", "test"]' },
        timeout_seconds: { type: 'number', description: 'Kill the program after this many seconds' },
      },
      required: ['argv'],
    },
  },
] satisfies ToolSpec[]);

export function isToolName(name: string): name is ToolName {
  return TOOL_SPECS.some((spec) => spec.name === name);
}
