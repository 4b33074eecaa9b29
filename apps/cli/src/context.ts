import type { Output } from './output.js';

/** What every command gets: where to print, the global options, and the exit code to return. */
export interface Context {
  out: Output;
  exitCode: number;
  globals(): { registry?: string; token?: string; json: boolean };
}
