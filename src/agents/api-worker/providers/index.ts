// The providers the API worker can talk to, by `--provider` name. Adding one: a file beside this one and
// a line below.
import type { Provider, ProviderOptions } from '../provider.js';
import { createAnthropicProvider } from './anthropic.js';
import { createOllamaProvider } from './ollama.js';
import { createOpenAiProvider } from './openai.js';

const PROVIDERS: Readonly<Record<string, (options: ProviderOptions) => Provider>> = Object.freeze({
  ollama: createOllamaProvider,
  anthropic: createAnthropicProvider,
  openai: createOpenAiProvider,
});

export const PROVIDER_NAMES: readonly string[] = Object.freeze(Object.keys(PROVIDERS));

/** The provider called `name`, or null when there is none. */
export function createProvider(name: string, options: ProviderOptions): Provider | null {
  const factory = Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name] : undefined;
  return factory === undefined ? null : factory(options);
}
