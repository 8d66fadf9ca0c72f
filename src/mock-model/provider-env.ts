// The environment that points every provider kage knows at one mock model server, with dummy keys (the
// mock checks none): for the tests and the benchmark.
export function mockProviderEnv(url: string): Record<string, string> {
  return {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: 'sk-mock-anthropic',
    OPENAI_BASE_URL: `${url}/v1`,
    OPENAI_API_KEY: 'sk-mock-openai',
    GOOGLE_GEMINI_BASE_URL: url,
    GEMINI_API_KEY: 'mock-gemini-key',
    OLLAMA_HOST: url,
  };
}
