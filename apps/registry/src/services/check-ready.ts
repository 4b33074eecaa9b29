import type { Deps } from '../deps.js';
import { ServiceError } from '../errors.js';

/** Readiness (`/readyz`): the database answers and holds every migration; NOT_READY (503) otherwise. */
export async function checkReady(deps: Deps): Promise<void> {
  try {
    await deps.db.ready();
  } catch (cause) {
    throw new ServiceError('NOT_READY', `the database is not ready: ${cause instanceof Error ? cause.message.slice(0, 200) : 'it does not answer'}`, {}, { cause });
  }
}
