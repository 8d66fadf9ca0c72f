import { describe, expect, it } from 'vitest';
import { clientCredential, requestedModel, routeOf } from './providers.js';
import { upstreamHeaders, upstreamUrl } from './request.js';

describe('routes', () => {
  it('maps each prefix to its provider and the rest of the path', () => {
    const r = (path: string) => {
      const route = routeOf(path);
      return route && [route.spec.name, route.rest];
    };
    expect(r('/anthropic/v1/messages')).toEqual(['anthropic', '/v1/messages']);
    expect(r('/openai/v1/chat/completions')).toEqual(['openai', '/chat/completions']);
    expect(r('/openai/v1/responses')).toEqual(['openai', '/responses']);
    expect(r('/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent')).toEqual(['gemini', '/v1beta/models/gemini-2.5-flash:streamGenerateContent']);
    expect(r('/ollama/api/chat')).toEqual(['ollama', '/api/chat']);
    expect(r('/ollama')).toEqual(['ollama', '']);
    expect(r('/openai/chat/completions')).toBeNull();
    expect(r('/anthropicx/v1/messages')).toBeNull();
  });

  it('appends the rest to the upstream base and keeps the query without a key', () => {
    const client = new URL('http://gw/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key=kgw_secret');
    expect(upstreamUrl('https://generativelanguage.googleapis.com', '/v1beta/models/m:streamGenerateContent', client).toString())
      .toBe('https://generativelanguage.googleapis.com/v1beta/models/m:streamGenerateContent?alt=sse');
    expect(upstreamUrl('http://127.0.0.1:9/compat/v1', '/chat/completions', new URL('http://gw/openai/v1/chat/completions')).toString())
      .toBe('http://127.0.0.1:9/compat/v1/chat/completions');
  });
});

describe('credentials', () => {
  const url = new URL('http://gw/x');
  it('finds the token wherever the provider\'s clients put it', () => {
    expect(clientCredential({ 'x-api-key': 'kgw_a' }, url)).toEqual({ token: 'kgw_a', bearer: false });
    expect(clientCredential({ authorization: 'Bearer kgw_b' }, url)).toEqual({ token: 'kgw_b', bearer: true });
    expect(clientCredential({ 'x-goog-api-key': 'kgw_c' }, url)).toEqual({ token: 'kgw_c', bearer: false });
    expect(clientCredential({}, new URL('http://gw/x?key=kgw_d'))).toEqual({ token: 'kgw_d', bearer: false });
    expect(clientCredential({ authorization: 'Basic abc' }, url)).toBeNull();
  });

  it('forwards no client credential, host or hop-by-hop header, and adds the real one', () => {
    const headers = upstreamHeaders({
      host: 'gw', authorization: 'Bearer kgw_x', 'x-api-key': 'kgw_x', 'x-goog-api-key': 'kgw_x', connection: 'keep-alive, x-private',
      'x-private': 'hop', 'keep-alive': 'timeout=5', 'content-type': 'application/json', 'content-length': '999', 'accept-encoding': 'gzip, br',
      'anthropic-version': '2023-06-01', 'transfer-encoding': 'chunked',
    }, 12, { 'x-api-key': 'sk-real' });
    expect(headers).toEqual({ 'content-type': 'application/json', 'content-length': '12', 'accept-encoding': 'identity',
      'anthropic-version': '2023-06-01', 'x-api-key': 'sk-real' });
  });
});

describe('the requested model', () => {
  it('comes from the Gemini path and from the others\' body', () => {
    expect(requestedModel('gemini', '/v1beta/models/gemini-2.5-pro:generateContent', { model: 'ignored' })).toBe('gemini-2.5-pro');
    expect(requestedModel('anthropic', '/v1/messages', { model: 'claude-sonnet-4-5' })).toBe('claude-sonnet-4-5');
    expect(requestedModel('openai', '/responses', null)).toBeNull();
  });
});
