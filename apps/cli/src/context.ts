import type { Output } from './output.js';

/** What every command gets: where to print, the global options, and the exit code to return. */
export interface Context {
  out: Output;
  exitCode: number;
  globals(): { registry?: string; token?: string; json: boolean };
  /** The environment the command runs in (process.env unless a test gives its own). */
  env: NodeJS.ProcessEnv;
  /**
   * Which sigil runs (`sigil@<version>`, the same for the packed CLI and the checkout's): the scope
   * of the host's seal key, so a new release never believes what an older one sealed.
   */
  build: string;
}
