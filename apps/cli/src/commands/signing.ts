import type { Command } from 'commander';
import type { Context } from '../context.js';

/** Registers the signing commands (filled in by the signing work). */
export function registerSigning(_program: Command, _ctx: Context): void {}
