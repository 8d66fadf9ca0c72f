// Opens the kage services for one CLI command and closes them afterwards.
import { loadConfig, type ConfigOverrides } from '../config/config.js';
import { createKage, type Kage, type KageOptions } from '../main/app.js';

export interface GlobalFlags {
  home?: string;
  databaseUrl?: string;
}

export function configFrom(flags: GlobalFlags, extra: ConfigOverrides = {}) {
  return loadConfig({
    ...(flags.home ? { home: flags.home } : {}),
    ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
    ...extra,
  });
}

export async function withKage<T>(flags: GlobalFlags, opts: KageOptions & { overrides?: ConfigOverrides },
  fn: (kage: Kage) => Promise<T>): Promise<T> {
  const kage = await createKage(configFrom(flags, opts.overrides), opts);
  try {
    return await fn(kage);
  } finally {
    await kage.close();
  }
}
