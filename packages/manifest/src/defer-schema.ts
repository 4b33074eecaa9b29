import { z } from 'zod';

/**
 * A zod schema built when it is first used instead of when its module loads.
 *
 * Every module of ours declares its wire schemas as module constants, and building a zod schema
 * costs: the packed CLI's host bundle built about 870 of them at every start, for a warm `sigil
 * resolve --offline` that runs a few dozen (the rest are the registry's, the publisher's, or
 * checks the plain tests make unnecessary). Wrapped in `deferSchema`, a constant costs one small
 * object at load; the schema itself is built the first time anything reads from it.
 *
 * The value returned is the schema, not a proxy of it: on first use the object is made a genuine
 * instance of the built schema's class, initialised from the same definition, which is how zod
 * itself clones a schema (`new constr(def)`). From then on reads go straight to the schema, with
 * nothing in between; its identity never changes (a parent schema, a `WeakMap` or a registry
 * holding it holds the schema), and metadata given with `.meta()` or `.describe()` moves to it.
 * Before that first use its prototype is a trap that builds it on any property read, write, `in`
 * or `instanceof`. Only its own keys (`Object.keys`) read as empty until then.
 *
 * A builder that throws throws at that first use, and at every later one (a schema whose copy
 * failed half-way parses nothing). A builder that reads a schema whose build is under way (its own,
 * or one it is building, through a method such as `.optional()`) throws; placing it as a child is
 * no read, so a schema may hold itself (`z.array(Self)`), and `z.lazy` works as usual. Reads zod
 * does not route through a prototype see a bare object until first use: its own keys
 * (`Object.keys`), and `Object.getPrototypeOf`, which gives the trap; nothing here makes them.
 * @example export const Tool = deferSchema(() => z.strictObject({ name: ToolName, description: z.string() }));
 */
export function deferSchema<T extends z.core.$ZodType>(build: () => T): T {
  let failure: { error: unknown } | undefined;
  let building = false;
  const trap: object = new Proxy(Object.create(null) as object, {
    get: (_, key, receiver) => Reflect.get(materialized(), key, receiver),
    set: (_, key, value, receiver) => Reflect.set(materialized(), key, value, receiver),
    has: (_, key) => Reflect.has(materialized(), key),
    getPrototypeOf: () => Object.getPrototypeOf(materialized()),
  });
  const schema = Object.create(trap) as object;

  function materialized(): object {
    if (Object.getPrototypeOf(schema) !== trap) return schema;
    if (failure) throw failure.error;
    if (building) throw new Error('a deferred zod schema was read while it was being built: its builder (or one it started) calls a method of it; placing it as a child, or z.lazy, reads nothing');
    building = true;
    try {
      becomeCopyOf(schema, build());
    } catch (error) {
      failure = { error };
      disable(schema, trap, error);
      throw error;
    } finally {
      building = false;
    }
    return schema;
  }
  return schema as T;
}

/**
 * After a failed build or copy: every later read through the trap throws `error`, and internals a
 * copy left behind (zod defines `_zod` for good) parse nothing, so no half-made schema ever
 * accepts a value.
 */
function disable(schema: object, trap: object, error: unknown): void {
  Object.setPrototypeOf(schema, trap);
  const internals = Object.getOwnPropertyDescriptor(schema, '_zod')?.value as Record<string, unknown> | undefined;
  if (internals === undefined) return;
  const fail = (): never => {
    throw error;
  };
  for (const key of ['run', 'parse', 'check']) internals[key] = fail;
}

/** zod's constructor as `$constructor` makes it: `init` initialises any object as an instance. */
interface Constructor {
  prototype: object;
  init(inst: object, def: unknown): void;
}
/** The internals `new constr(def)` reads after `init` (zod 4's core.js). */
interface Internals {
  constr: Constructor;
  def: unknown;
  parent?: unknown;
  deferred?: Array<() => void>;
}

/**
 * Makes `target`, a bare object, what `new constr(def)` would return for `built`'s constructor and
 * definition (zod's `clone`), keeping `built`'s parent (inherited metadata) and its metadata in
 * zod's global registry. Nothing is written to `target` until the copy is known to be possible.
 */
function becomeCopyOf(target: object, built: z.core.$ZodType): void {
  const internals = (built as unknown as { _zod?: Internals })._zod;
  if (!internals || typeof internals.constr?.init !== 'function') throw new TypeError('deferSchema: the builder did not return a zod schema');
  const registry = z.globalRegistry;
  const meta = registry.has(built) ? registry._map.get(built) : undefined;
  Object.setPrototypeOf(target, internals.constr.prototype);
  internals.constr.init(target, internals.def);
  const own = (target as { _zod: Internals })._zod;
  const deferred = own.deferred;
  if (deferred) {
    for (const fn of deferred) fn();
    own.deferred = undefined;
  }
  if (internals.parent !== undefined) own.parent = internals.parent;
  // Added, not moved: a builder may return a schema that lives on elsewhere, whose metadata stays.
  if (meta !== undefined) registry.add(target as z.core.$ZodType, meta);
  const postProcessor = (globalThis as { __zod_globalConfig?: { postProcessor?: (inst: object) => void } }).__zod_globalConfig?.postProcessor;
  postProcessor?.(target);
}
