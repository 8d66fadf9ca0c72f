import { describe, expect, it } from 'vitest';
import { splitPathToken, withPathToken } from './path-token.js';
import { routeOf } from './providers.js';
import { REDACTED, redactedRequestUrl, redactPathToken } from './redact.js';
import { upstreamHeaders, upstreamUrl } from './request.js';

const TOKEN = 'kgw_Zm9vYmFyLWJhei1xdXV4LXRva2VuLWZvci10ZXN0cw';

describe('path tokens', () => {
  it('puts the token right before the provider prefix, also under a gateway URL with a path', () => {
    expect(withPathToken('http://127.0.0.1:4000/anthropic', 'anthropic', TOKEN)).toBe(`http://127.0.0.1:4000/t/${TOKEN}/anthropic`);
    expect(withPathToken('http://127.0.0.1:4000/openai/v1', 'openai', TOKEN)).toBe(`http://127.0.0.1:4000/t/${TOKEN}/openai/v1`);
    expect(withPathToken('https://gw.example/kage/gemini', 'gemini', TOKEN)).toBe(`https://gw.example/kage/t/${TOKEN}/gemini`);
    expect(() => withPathToken('http://127.0.0.1:4000/elsewhere', 'ollama', TOKEN)).toThrow(/ending in \/ollama/);
  });

  it('strips the token and leaves the path the providers are routed by', () => {
    const split = splitPathToken(`/t/${TOKEN}/openai/v1/responses`);
    expect(split).toEqual({ token: TOKEN, path: '/openai/v1/responses' });
    const route = routeOf(split!.path);
    expect([route?.spec.name, route?.rest]).toEqual(['openai', '/responses']);
    expect(splitPathToken(`/t/${TOKEN}`)).toEqual({ token: TOKEN, path: '/' });
    expect(splitPathToken('/t//anthropic/v1/messages')).toEqual({ token: '', path: '/anthropic/v1/messages' });
    expect(splitPathToken('/anthropic/v1/messages')).toBeNull();
    expect(splitPathToken('/tokens/anthropic')).toBeNull();
  });

  it('redacts the token in a path and in a logged URL, with a key parameter', () => {
    expect(redactPathToken(`/t/${TOKEN}/anthropic/v1/messages`)).toBe(`/t/${REDACTED}/anthropic/v1/messages`);
    expect(redactPathToken(`/t/${TOKEN}`)).toBe(`/t/${REDACTED}`);
    expect(redactPathToken(`/t/${TOKEN}/`)).toBe(`/t/${REDACTED}/`);
    expect(redactPathToken('/anthropic/v1/messages')).toBe('/anthropic/v1/messages');
    const logged = redactedRequestUrl(`/t/${TOKEN}/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key=AIza-own-key`);
    expect(logged).toBe(`/t/${REDACTED}/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key=${encodeURIComponent(REDACTED)}`);
    expect(logged).not.toContain(TOKEN);
    expect(logged).not.toContain('AIza-own-key');
  });
});

describe('passthrough forwarding', () => {
  it('keeps the client\'s own credential headers and drops only host and hop-by-hop ones', () => {
    const headers = upstreamHeaders({
      host: 'gw', 'x-api-key': 'sk-ant-user-own', authorization: 'Bearer sk-ant-oat01-own', connection: 'keep-alive',
      'keep-alive': 'timeout=5', 'content-type': 'application/json', 'accept-encoding': 'gzip', 'anthropic-beta': 'oauth-2025-04-20',
    }, 7, 'passthrough');
    expect(headers).toEqual({ 'x-api-key': 'sk-ant-user-own', authorization: 'Bearer sk-ant-oat01-own', 'content-type': 'application/json',
      'content-length': '7', 'accept-encoding': 'identity', 'anthropic-beta': 'oauth-2025-04-20' });
  });

  it('keeps a Gemini `?key=` in the upstream URL, which a gateway-mode request loses', () => {
    const client = new URL(`http://gw/t/${TOKEN}/gemini/v1beta/models/m:generateContent?key=AIza-own&alt=sse`);
    expect(upstreamUrl('https://generativelanguage.googleapis.com', '/v1beta/models/m:generateContent', client, 'passthrough').toString())
      .toBe('https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?key=AIza-own&alt=sse');
    expect(upstreamUrl('https://generativelanguage.googleapis.com', '/v1beta/models/m:generateContent', client, { 'x-goog-api-key': 'k' }).toString())
      .toBe('https://generativelanguage.googleapis.com/v1beta/models/m:generateContent?alt=sse');
  });
});
