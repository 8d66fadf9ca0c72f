import { describe, expect, it } from 'vitest';
import { ollamaBaseUrl, OLLAMA_DEFAULT_HOST } from './ollama-host.js';

describe('ollamaBaseUrl', () => {
  it.each([
    [undefined, OLLAMA_DEFAULT_HOST],
    ['', OLLAMA_DEFAULT_HOST],
    ['  ', OLLAMA_DEFAULT_HOST],
    ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['gpu-box', 'http://gpu-box:11434'],
    ['0.0.0.0', 'http://0.0.0.0:11434'],
    [':9000', 'http://127.0.0.1:9000'],
    ['http://gpu-box', 'http://gpu-box:80'],
    ['https://ollama.example.com', 'https://ollama.example.com:443'],
    ['http://gpu-box:11434/', 'http://gpu-box:11434'],
    ['https://proxy.example.com:8443/ollama', 'https://proxy.example.com:8443/ollama'],
    ['[::1]:11434', 'http://[::1]:11434'],
    ['::1', 'http://[::1]:11434'],
    ['gpu-box:notaport', 'http://gpu-box:11434'],
  ])('reads OLLAMA_HOST=%j as %s', (value, expected) => {
    expect(ollamaBaseUrl(value)).toBe(expected);
  });
});
