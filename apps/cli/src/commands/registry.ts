import type { Command } from 'commander';
import type { Context } from '../context.js';

/** Registers the registry commands (filled in by the registry work). */
export function registerRegistry(_program: Command, _ctx: Context): void {}
