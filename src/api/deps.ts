// What the HTTP layer is given by the composition root: the kage services plus the server's own parts.
import type { Logger } from 'pino';
import type { Kage } from '../main/app.js';
import type { EventHub } from '../events/hub.js';
import type { ApiAuth } from './auth.js';

export interface ApiDeps {
  kage: Kage;
  auth: ApiAuth;
  /** Live events for SSE subscribers, fed by this process's event log and by NOTIFY from others. */
  hub: EventHub;
  log: Logger;
  /** Package version, for `GET /` and `/openapi.json`. */
  version: string;
}
