import type { Command } from 'commander';
import type { Context } from '../context.js';

/** Registers the host commands (filled in by the host work). */
export function registerHost(_program: Command, _ctx: Context): void {}
