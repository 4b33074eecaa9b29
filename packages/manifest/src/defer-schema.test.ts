import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deferSchema } from './defer-schema.js';

/** The same schema twice: built now, and deferred. */
function both<T extends z.ZodType>(build: () => T): [T, T] {
  return [build(), deferSchema(build)];
}
const outcome = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? { ok: r.data } : { issues: r.error.issues };
};

describe('deferSchema', () => {
  it('builds nothing until first used, then once', () => {
    let built = 0;
    const schema = deferSchema(() => {
      built++;
      return z.string().max(3);
    });
    expect(built).toBe(0);
    expect(schema.safeParse('abc').success).toBe(true);
    expect(schema.safeParse('abcd').success).toBe(false);
    expect(built).toBe(1);
  });

  const cases: Array<[string, () => z.ZodType, unknown[]]> = [
    ['string with checks and a refinement', () => z.string().min(1).max(5).regex(/^[a-z]+$/).refine((v) => v !== 'bad', 'no'), ['abc', '', 'abcdef', 'ABC', 'bad', 7]],
    ['strict object with optional and defaulted fields', () => z.strictObject({ a: z.string(), b: z.number().int().optional(), c: z.array(z.boolean()).max(2).default([]) }), [{ a: 'x' }, { a: 'x', b: 1.5 }, { a: 'x', d: 1 }, { a: 'x', c: [true, false, true] }, null, []]],
    ['discriminated union', () => z.discriminatedUnion('type', [z.strictObject({ type: z.literal('a'), x: z.string() }), z.strictObject({ type: z.literal('b'), y: z.number() })]), [{ type: 'a', x: '1' }, { type: 'b', y: 'no' }, { type: 'c' }]],
    ['record, union, nullish and a transform', () => z.record(z.string(), z.union([z.number(), z.string().transform((s) => s.length)])).nullish(), [{ a: 1, b: 'xyz' }, { a: true }, null, undefined, 'x']],
    ['superRefine with a custom issue', () => z.string().superRefine((v, ctx) => { if (v.includes(' ')) ctx.addIssue({ code: 'custom', message: 'no spaces', params: { finding: 'X' } }); }), ['ab', 'a b']],
    ['pipe into an enum', () => z.string().trim().pipe(z.enum(['low', 'high'])), [' low ', 'mid']],
  ];
  it.each(cases)('parses as the schema built now: %s', (_, build, values) => {
    const [now, deferred] = both(build);
    for (const value of values) expect(outcome(deferred, value)).toEqual(outcome(now, value));
  });

  it('is a genuine instance of the built class, with its methods, shape and JSON Schema', () => {
    const [now, deferred] = both(() => z.strictObject({ name: z.string().describe('the name'), size: z.number().positive() }).meta({ title: 'Thing' }));
    expect(deferred).toBeInstanceOf(z.ZodObject);
    expect(deferred instanceof z.ZodType).toBe(true);
    expect(Object.keys(deferred.shape)).toEqual(['name', 'size']);
    expect(deferred.extend({ extra: z.boolean() }).safeParse({ name: 'a', size: 1, extra: true }).success).toBe(true);
    expect(deferred.pick({ name: true }).safeParse({ name: 'a' }).success).toBe(true);
    expect(deferred.meta()).toEqual({ title: 'Thing' });
    expect(z.toJSONSchema(deferred)).toEqual(z.toJSONSchema(now));
    // Its prototype is the class's own now: no trap left between the object and its members.
    expect(Object.getPrototypeOf(deferred)).toBe(Object.getPrototypeOf(now));
  });

  it('keeps its identity: a parent built before its first use holds the same object', () => {
    let built = 0;
    const child = deferSchema(() => {
      built++;
      return z.string().min(2);
    });
    const registry = new WeakMap<object, string>([[child, 'child']]);
    const parent = z.strictObject({ child });
    expect(parent.safeParse({ child: 'ok' }).success).toBe(true);
    expect(parent.safeParse({ child: 'x' }).success).toBe(false);
    expect(parent.shape.child).toBe(child);
    expect(registry.get(child)).toBe('child');
    expect(built).toBe(1);
  });

  it("moves .meta({ id }) to itself in zod's global registry, so JSON Schema output names it", () => {
    const id = `DeferTest${Math.random().toString(36).slice(2)}`;
    const named = deferSchema(() => z.strictObject({ a: z.string() }).meta({ id, description: 'named' }));
    const holder = z.strictObject({ one: named, two: named });
    const json = z.toJSONSchema(holder) as { $defs?: Record<string, unknown>; properties: Record<string, unknown> };
    expect(json.$defs?.[id]).toMatchObject({ description: 'named' });
    expect(json.properties.one).toEqual({ $ref: `#/$defs/${id}` });
    expect(z.globalRegistry.get(named)).toMatchObject({ id, description: 'named' });
    expect(z.globalRegistry._idmap.get(id)).toBe(named);
  });

  it('serves a recursive schema through z.lazy', () => {
    type Tree = { children: Tree[] };
    const Tree: z.ZodType<Tree> = deferSchema(() => z.strictObject({ children: z.array(z.lazy(() => Tree)) }));
    expect(Tree.safeParse({ children: [{ children: [] }] }).success).toBe(true);
    expect(Tree.safeParse({ children: [{ children: [1] }] }).success).toBe(false);
  });

  it('refuses a schema that reads itself while it is built, and keeps refusing', () => {
    const selfish: z.ZodString = deferSchema((): z.ZodString => z.string().max(selfish.maxLength ?? 1));
    expect(() => selfish.safeParse('x')).toThrow(/while it was being built/);
    expect(() => selfish.safeParse('x')).toThrow(/while it was being built/);
  });

  it('throws the builder’s error at first use and at every later one', () => {
    const broken = deferSchema((): z.ZodString => {
      throw new Error('no schema today');
    });
    expect(() => broken.parse('x')).toThrow('no schema today');
    expect(() => broken.safeParse('x')).toThrow('no schema today');
    expect(() => z.strictObject({ broken }).parse({ broken: 'x' })).toThrow('no schema today');
  });

  it('refuses a builder that returns something other than a zod schema', () => {
    const odd = deferSchema(() => ({ parse: () => 'anything' }) as unknown as z.ZodString);
    expect(() => odd.parse('x')).toThrow(/did not return a zod schema/);
  });
});

describe('deferSchema and zod', () => {
  // deferSchema repeats what zod's constructor does after `init` (core.js `_`); a zod release that
  // adds a step there would make a copy differ from `new constr(def)`. Every schema @sigil/manifest
  // exports is compared with a fresh construction of its own definition.
  it('makes each exported schema what zod itself constructs from its definition', async () => {
    const exported = Object.entries(await import('./index.js')).filter(([, v]) => v instanceof z.ZodType) as Array<[string, z.ZodType]>;
    expect(exported.length).toBeGreaterThan(50);
    for (const [name, schema] of exported) {
      const internals = schema._zod as unknown as { constr: new (def: unknown) => z.ZodType; def: unknown; traits: Set<string> };
      const fresh = new internals.constr(internals.def);
      const keys = (o: object) => Object.keys(o).filter((k) => k !== 'parent').sort();
      expect({ name, keys: keys(schema._zod), traits: [...internals.traits] }).toEqual({ name, keys: keys(fresh._zod), traits: [...(fresh._zod as unknown as { traits: Set<string> }).traits] });
      expect(Object.getPrototypeOf(schema)).toBe(Object.getPrototypeOf(fresh));
    }
  });

  it('leaves the metadata of a schema its builder returns as it is', () => {
    const id = `DeferBase${Math.random().toString(36).slice(2)}`;
    const base = z.strictObject({ a: z.string() }).meta({ id, title: 'base' });
    const deferred = deferSchema(() => base);
    expect(deferred.safeParse({ a: 'x' }).success).toBe(true);
    expect(base.meta()).toEqual({ id, title: 'base' });
    expect(deferred.meta()).toEqual({ id, title: 'base' });
  });
});
