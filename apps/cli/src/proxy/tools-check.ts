import { normalizeTool, toolDigest, type Manifest, type Tool } from '@sigil/manifest';
import { compareLiveTools, driftSentence, missingTools } from '@sigil/resolver';

/** Why what the server showed is not what was pinned. */
export interface Drift {
  reason: string;
  details: Record<string, unknown>;
}

/**
 * The tools check of the firewall: every tool a host would see is compared, by canonical digest,
 * with the pinned manifest; so are the server's instructions wherever they appear. The pinned
 * form of a tool (not the live object with its unpinned extra fields) is what the host receives.
 */
export class ToolsCheck {
  private readonly pinned: Map<string, string>;

  /** Pinned tools that declare an outputSchema (their results must carry structuredContent). */
  private readonly structured: ReadonlySet<string>;

  /** `allowMissing`: the policy's `liveTools: "pinned-subset"` (a whole listing may leave pinned tools out). */
  constructor(
    private readonly manifest: Manifest,
    private readonly allowMissing = false,
  ) {
    this.pinned = new Map(manifest.tools.map((t) => [t.name, toolDigest(t)]));
    this.structured = new Set(manifest.tools.filter((t) => t.outputSchema !== undefined).map((t) => t.name));
  }

  /** Whether the pinned tool declares an outputSchema. */
  hasOutputSchema(name: string): boolean {
    return this.structured.has(name);
  }

  /** Whether a `tools/call` may name this tool. */
  allows(name: unknown): name is string {
    return typeof name === 'string' && this.pinned.has(name);
  }

  /** Checks one page of a `tools/list` answer, tool by tool; returns the pinned forms to forward. */
  page(tools: unknown): { tools: Tool[] } | { drift: Drift } {
    if (!Array.isArray(tools)) return { drift: { reason: 'the server answered tools/list without a list of tools', details: {} } };
    const out: Tool[] = [];
    const seen = new Set<string>();
    for (const live of tools as unknown[]) {
      if (typeof live !== 'object' || live === null || Array.isArray(live)) return { drift: { reason: 'the server listed a tool that is not an object', details: {} } };
      const tool = normalizeTool(live as Record<string, unknown>).tool;
      const name = typeof tool.name === 'string' ? tool.name : JSON.stringify(tool.name);
      const digest = this.pinned.get(name);
      if (digest === undefined) return { drift: { reason: `the server listed ${name}, which is not in the pinned manifest`, details: { tool: name, hint: HINT_ADDED } } };
      if (digest !== toolDigest(tool)) return { drift: { reason: `the server listed a changed definition of ${name}`, details: { tool: name } } };
      if (seen.has(name)) return { drift: { reason: `the server listed ${name} twice`, details: { tool: name } } };
      seen.add(name);
      out.push(tool);
    }
    return { tools: out };
  }

  /**
   * The tools a server offers the host's model in a sampling request (`sampling/createMessage`
   * `params.tools`, MCP 2025-11-25, also inside a modern result's `inputRequests`): the model reads
   * their names and descriptions as it reads a listing's, so each must be a pinned tool, unchanged,
   * and the host receives the pinned forms, as from a listing. The same params when they offer none.
   */
  sampling(params: Record<string, unknown>): { params: Record<string, unknown> } | { problem: string } {
    if (params.tools === undefined) return { params };
    if (!Array.isArray(params.tools)) return { problem: 'its tools are not a list' };
    const checked = this.page(params.tools);
    if ('drift' in checked) return { problem: checked.drift.reason.replace('the server listed', 'the server offered the model') };
    return { params: { ...params, tools: checked.tools } };
  }

  /** Checks instructions as they appear in an `initialize` or `server/discover` result. */
  instructions(result: Record<string, unknown>): Drift | undefined {
    const live = result.instructions;
    if (live !== undefined && typeof live !== 'string') return { reason: 'the server sent instructions that are not text', details: {} };
    if ((live ?? undefined) === (this.manifest.instructions ?? undefined)) return undefined;
    return { reason: "the live server's instructions differ from the pinned manifest", details: { instructions: { pinned: this.manifest.instructions, live } } };
  }

  /**
   * The first pages of a listing: drift when they hold a tool outside the pin or a changed one, with
   * the diff the whole check gives (pinned tools not listed yet are not missing yet).
   */
  partial(tools: Tool[]): Drift | undefined {
    const found = compareLiveTools(this.manifest, { instructions: this.manifest.instructions, tools }, true);
    if (!found) return undefined;
    const diff = { ...found.diff, removed: [] };
    return { reason: driftSentence(diff, false), details: { diff, ...hintFor(diff, false) } };
  }

  /**
   * Compares a whole listing (every page) and the instructions with the pin: exactly, or with
   * `allowMissing` a listing that leaves pinned tools out, whose names are returned for the log.
   */
  whole(tools: Tool[], instructions: string | undefined): { drift: Drift } | { missing: string[] } {
    const found = compareLiveTools(this.manifest, { instructions, tools }, this.allowMissing);
    if (!found) return { missing: this.allowMissing ? missingTools(this.manifest, tools) : [] };
    return { drift: { reason: driftSentence(found.diff, found.instructions !== undefined), details: { diff: found.diff, ...(found.instructions ? { instructions: found.instructions } : {}), ...hintFor(found.diff, found.instructions !== undefined) } } };
  }
}

// What the log says beside a drift that only adds or leaves out whole tools, the likeliest cause
// of which is a server that shows a host tools by the capabilities it declares (README, "A whole round").
const HINT_ADDED = "if this server shows tools by the capabilities a host declares (roots, sampling, elicitation, tasks), pin it as a host declaring every one (sigil manifest init --capable-host) and let the host's policy leave pinned tools out (sigil policy init --live-tools pinned-subset)";
const HINT_MISSING = "if this server shows tools by the capabilities a host declares, let the host's policy leave pinned tools out (sigil policy init --live-tools pinned-subset, or \"liveTools\": \"pinned-subset\" in sigil.policy.json)";

/** The hint for a drift of whole tools added or left out, and nothing else; none for any other drift. */
function hintFor(diff: { added: string[]; removed: string[]; renamed: unknown[]; changed: unknown[] }, instructionsChanged: boolean): { hint?: string } {
  if (instructionsChanged || diff.renamed.length || diff.changed.length) return {};
  if (diff.added.length) return { hint: HINT_ADDED };
  return diff.removed.length ? { hint: HINT_MISSING } : {};
}
