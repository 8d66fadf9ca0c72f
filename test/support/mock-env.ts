// The environment that points every provider kage knows at one mock model server, with dummy keys.
export { mockProviderEnv } from '../../src/mock-model/provider-env.js';
