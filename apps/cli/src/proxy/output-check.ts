import type { Manifest } from '@sigil/manifest';

/** What validates a JSON Schema: the 2.x MCP client's own (`AjvJsonSchemaValidator`), whose reading of a schema a host's client shares. */
export interface SchemaValidator {
  getValidator(schema: Record<string, unknown>): (input: unknown) => { valid: boolean; errorMessage?: string | undefined };
}

/**
 * The JSON Schema validator `sigil run` holds a pinned tool's structured results to: the one the
 * 2.x client validates with (`@modelcontextprotocol/client/validators/ajv`: ajv, the dialect a
 * schema declares, 2020-12 by default, formats checked), loaded only for a manifest that pins an
 * outputSchema (it is most of a megabyte of code).
 */
export async function loadSchemaValidator(): Promise<SchemaValidator> {
  const { AjvJsonSchemaValidator } = await import('@modelcontextprotocol/client/validators/ajv');
  return new AjvJsonSchemaValidator() as unknown as SchemaValidator;
}

/**
 * Checks a pinned tool's `structuredContent` against the outputSchema the manifest pins for it.
 * The official clients validate it against the outputSchema they listed, but a server can make
 * them forget it (the 1.x client drops every validator on each tools/list page, an empty one
 * included; the 2.x client drops its cached listing on tools/list_changed), so the proxy checks it
 * itself. Each schema is compiled on its first use. Without a validator (`undefined`), structured
 * content of a tool with an outputSchema is refused: fail closed.
 */
export class OutputCheck {
  private readonly schemas: Map<string, Record<string, unknown>>;
  private readonly compiled = new Map<string, ((input: unknown) => { valid: boolean; errorMessage?: string | undefined }) | string>();

  constructor(
    manifest: Manifest,
    private readonly validator: SchemaValidator | undefined,
  ) {
    this.schemas = new Map(manifest.tools.filter((t) => t.outputSchema !== undefined).map((t) => [t.name, t.outputSchema as Record<string, unknown>]));
  }

  /** Whether any pinned tool declares an outputSchema (then a validator is needed). */
  get needed(): boolean {
    return this.schemas.size > 0;
  }

  /** Why `structured`, the structuredContent of a result of `tool`, is refused; `undefined` when it conforms or the tool pins no outputSchema. */
  problem(tool: string, structured: unknown): string | undefined {
    const schema = this.schemas.get(tool);
    if (schema === undefined || structured === undefined) return undefined;
    if (this.validator === undefined) return 'no JSON Schema validator was loaded to check it against the pinned outputSchema';
    let validate = this.compiled.get(tool);
    if (validate === undefined) {
      try {
        validate = this.validator.getValidator(schema);
      } catch (e) {
        validate = `the pinned outputSchema cannot be compiled (${String((e as Error)?.message ?? e).slice(0, 200)})`;
      }
      this.compiled.set(tool, validate);
    }
    if (typeof validate === 'string') return validate;
    const verdict = validate(structured);
    return verdict.valid ? undefined : `its structuredContent does not match the pinned outputSchema: ${(verdict.errorMessage ?? 'invalid').slice(0, 500)}`;
  }
}
