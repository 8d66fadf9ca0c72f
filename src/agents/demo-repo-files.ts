// The demo repository: a tiny Node project whose `add` has a one-line bug. The demo command writes these
// files, and the fake agent's `fix` behaviour repairs exactly DEMO_BUGGY_LINE.

export const DEMO_BUG_FILE = 'src/math.js';
export const DEMO_BUGGY_LINE = 'return a - b;';
export const DEMO_FIXED_LINE = 'return a + b;';
export const DEMO_CHECK_COMMAND = 'npm test';
export const DEMO_TASK_DESCRIPTION = 'Fix the bug in add() in src/math.js so that the tests pass.';

export const DEMO_PACKAGE_JSON = `${JSON.stringify(
  { name: 'kage-demo', private: true, type: 'module', scripts: { test: 'node --test' } },
  null,
  2,
)}\n`;

export const DEMO_MATH_JS = `export function add(a, b) {
  ${DEMO_BUGGY_LINE}
}

export function multiply(a, b) {
  return a * b;
}
`;

export const DEMO_MATH_TEST_JS = `import { test } from 'node:test';
import assert from 'node:assert/strict';
import { add, multiply } from '../src/math.js';

test('add sums two numbers', () => {
  assert.equal(add(2, 3), 5);
});

test('multiply multiplies two numbers', () => {
  assert.equal(multiply(4, 5), 20);
});
`;

export const DEMO_README = `# kage-demo

A tiny project with a bug in \`add\`. Run \`npm test\` to see it fail.
`;

/** Every file of the demo repository, by path relative to its root. */
export const DEMO_REPO_FILES: Readonly<Record<string, string>> = Object.freeze({
  'package.json': DEMO_PACKAGE_JSON,
  [DEMO_BUG_FILE]: DEMO_MATH_JS,
  'test/math.test.js': DEMO_MATH_TEST_JS,
  'README.md': DEMO_README,
});
