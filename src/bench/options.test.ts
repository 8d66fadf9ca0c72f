import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.js';

const OUT = '/tmp/bench-results.json';

describe('parseBenchArgs', () => {
  it('runs every part, with five agent samples, when no part is named', () => {
    const opts = parseBenchArgs([], OUT);
    expect(opts.parts).toEqual(['core', 'api', 'agents', 'gateway']);
    expect(opts.agentSamples).toBe(5);
  });

  it('runs only the part --only names', () => {
    expect(parseBenchArgs(['--only', 'agents'], OUT).parts).toEqual(['agents']);
    expect(parseBenchArgs(['--only', 'core'], OUT).parts).toEqual(['core']);
    expect(parseBenchArgs(['--only', 'api'], OUT).parts).toEqual(['api']);
    expect(parseBenchArgs(['--only', 'gateway'], OUT).parts).toEqual(['gateway']);
  });

  it('takes two agent samples with --quick, and --agent-samples over either default', () => {
    expect(parseBenchArgs(['--quick'], OUT).agentSamples).toBe(2);
    expect(parseBenchArgs(['--quick', '--agent-samples', '7'], OUT).agentSamples).toBe(7);
    expect(parseBenchArgs(['--agent-samples', '1'], OUT).agentSamples).toBe(1);
  });

  it('sends 2000 gateway requests a side, 300 with --quick, and --gateway-requests over either default', () => {
    expect(parseBenchArgs([], OUT).gatewayRequests).toBe(2000);
    expect(parseBenchArgs(['--quick'], OUT).gatewayRequests).toBe(300);
    expect(parseBenchArgs(['--quick', '--gateway-requests', '50'], OUT).gatewayRequests).toBe(50);
  });

  it('rejects an unknown part and a sample count that is not a positive integer', () => {
    expect(() => parseBenchArgs(['--only', 'agent'], OUT)).toThrow('Expected `--only` to be core, api, agents, gateway, got "agent"');
    expect(() => parseBenchArgs(['--only'], OUT)).toThrow('got undefined');
    expect(() => parseBenchArgs(['--agent-samples', '0'], OUT)).toThrow('Expected `--agent-samples` to be a positive integer, got "0"');
  });
});
