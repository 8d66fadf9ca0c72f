// The scripted mock model server, for tests and offline demos.
export { startMockModelServer, parseScenarioSpec, type MockModelServer, type MockModelServerOptions } from './server.js';
export { MOCK_USAGE, MOCK_WRITE_RUN_USAGE, type MockTurnUsage } from './usage.js';
export { REDACTED, type MockRequestRecord } from './request-log.js';
export { DEFAULT_CONTENT, DEFAULT_FILE, DEFAULT_TEXT, DEFAULT_DELAY_MS, ScenarioError, type Scenario } from './scenario.js';
export type { ProtocolName } from './protocol.js';
