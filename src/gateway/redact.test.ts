import { describe, expect, it } from 'vitest';
import { REDACTED, redactedPath, redactHeaders } from './redact.js';

describe('flight recorder redaction', () => {
  it('replaces every credential header\'s value and keeps the others as they were sent', () => {
    const headers = redactHeaders({
      authorization: 'Bearer kgw_secret', 'x-api-key': 'kgw_a', 'x-goog-api-key': 'kgw_g', 'api-key': 'kgw_b',
      cookie: 'session=1', 'set-cookie': ['a=1', 'b=2'], 'proxy-authorization': 'Basic x', 'x-amz-security-token': 'tok',
      'Anthropic-Version': '2023-06-01', 'content-type': 'application/json', 'x-stainless-retry-count': '0', accept: ['a', 'b'],
    });
    expect(headers).toEqual({
      authorization: REDACTED, 'x-api-key': REDACTED, 'x-goog-api-key': REDACTED, 'api-key': REDACTED, cookie: REDACTED,
      'set-cookie': REDACTED, 'proxy-authorization': REDACTED, 'x-amz-security-token': REDACTED,
      'anthropic-version': '2023-06-01', 'content-type': 'application/json', 'x-stainless-retry-count': '0', accept: ['a', 'b'],
    });
    expect(JSON.stringify(headers)).not.toMatch(/kgw_|session=1|Basic|tok"/);
  });

  it('redacts a key in the query string and keeps the other parameters in order', () => {
    const url = new URL('http://gw/gemini/v1beta/models/m:streamGenerateContent?alt=sse&key=kgw_token&api_key=k2&n=1');
    expect(redactedPath('/v1beta/models/m:streamGenerateContent', url))
      .toBe(`/v1beta/models/m:streamGenerateContent?alt=sse&key=${encodeURIComponent(REDACTED)}&api_key=${encodeURIComponent(REDACTED)}&n=1`);
    expect(redactedPath('/v1/messages', new URL('http://gw/anthropic/v1/messages'))).toBe('/v1/messages');
    expect(redactedPath('/v1/messages', new URL('http://gw/anthropic/v1/messages?beta=true'))).toBe('/v1/messages?beta=true');
  });
});
