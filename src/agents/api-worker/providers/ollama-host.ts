// Reads OLLAMA_HOST the way the ollama CLI does: `host`, `host:port`, `:port` or a URL; a missing scheme
// means http, a missing host 127.0.0.1, a missing port 11434 (80/443 when the scheme is given).
export const OLLAMA_DEFAULT_HOST = 'http://127.0.0.1:11434';

export function ollamaBaseUrl(value: string | undefined): string {
  const raw = (value ?? '').trim();
  if (raw === '') return OLLAMA_DEFAULT_HOST;
  const schemeEnd = raw.indexOf('://');
  const scheme = schemeEnd === -1 ? 'http' : raw.slice(0, schemeEnd).toLowerCase();
  const rest = schemeEnd === -1 ? raw : raw.slice(schemeEnd + 3);
  const slash = rest.indexOf('/');
  const hostPort = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash).replace(/\/+$/, '');
  const defaultPort = schemeEnd === -1 ? '11434' : scheme === 'https' ? '443' : scheme === 'http' ? '80' : '11434';
  const { host, port } = splitHostPort(hostPort);
  const validPort = port !== null && /^\d{1,5}$/.test(port) && Number(port) <= 65_535 ? port : defaultPort;
  const hostText = host === '' ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${scheme}://${hostText}:${validPort}${path}`;
}

function splitHostPort(text: string): { host: string; port: string | null } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close !== -1) {
      const after = text.slice(close + 1);
      return { host: text.slice(0, close + 1), port: after.startsWith(':') ? after.slice(1) : null };
    }
  }
  const colon = text.lastIndexOf(':');
  // A bare IPv6 address has several colons and no port.
  if (colon === -1 || text.indexOf(':') !== colon) return { host: text, port: null };
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}
