import { TlogError, type TlogErrorCode } from './errors.js';

/** The code of the TlogError `fn` throws, or 'no error'; any other throw is re-thrown (a bug, not a refusal). */
export function codeOf(fn: () => unknown): TlogErrorCode | 'no error' {
  try {
    fn();
    return 'no error';
  } catch (e) {
    if (e instanceof TlogError) return e.code;
    throw e;
  }
}
