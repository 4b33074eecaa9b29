import { z } from 'zod';
import { SigningError } from '../errors.js';
import type { SlsaProvenancePredicate } from '../provenance-predicate.js';
import { deferSchema } from '@sigil/manifest';

/** The GitHub Actions build type of SLSA v1 (the one npm provenance uses). */
export const GITHUB_ACTIONS_BUILD_TYPE = 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1';

const Env = deferSchema(() => z.object({
  GITHUB_ACTIONS: z.literal('true'),
  GITHUB_SERVER_URL: z.url({ protocol: /^https$/ }).max(256),
  GITHUB_REPOSITORY: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/).max(256),
  GITHUB_WORKFLOW_REF: z.string().min(1).max(1024),
  GITHUB_REF: z.string().min(1).max(512),
  GITHUB_SHA: z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/),
  GITHUB_RUN_ID: z.string().regex(/^\d{1,20}$/),
  GITHUB_RUN_ATTEMPT: z.string().regex(/^\d{1,6}$/),
  GITHUB_EVENT_NAME: z.string().min(1).max(64),
  GITHUB_REPOSITORY_ID: z.string().regex(/^\d{1,20}$/).optional(),
  GITHUB_REPOSITORY_OWNER_ID: z.string().regex(/^\d{1,20}$/).optional(),
  RUNNER_ENVIRONMENT: z.enum(['github-hosted', 'self-hosted']).default('github-hosted'),
}));

/**
 * SLSA provenance v1 for a build running in GitHub Actions, from its environment variables
 * (the same shape npm provenance has: builder `https://github.com/actions/runner/<runner>`,
 * the workflow's repository, path and ref, the commit as resolved dependency).
 * @example const predicate = provenanceFromGitHubActions(process.env);
 * @throws SigningError `PROVENANCE_INVALID` outside GitHub Actions or with malformed variables
 */
export function provenanceFromGitHubActions(env: Record<string, string | undefined>, options: { startedOn?: Date } = {}): SlsaProvenancePredicate {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    // One sentence naming the variables: missing ones, then malformed ones (never their values).
    const names = (missing: boolean) => [...new Set(parsed.error.issues.filter((i) => (env[String(i.path[0])] === undefined) === missing).map((i) => String(i.path[0])))];
    const [absent, malformed] = [names(true), names(false)];
    const parts = [absent.length ? `${absent.join(', ')} ${absent.length === 1 ? 'is' : 'are'} not set` : '', malformed.length ? `${malformed.join(', ')} ${malformed.length === 1 ? 'is' : 'are'} malformed` : ''].filter(Boolean);
    throw new SigningError('PROVENANCE_INVALID', `not a GitHub Actions build environment (provenance is made inside a GitHub Actions job): ${parts.join('; ')}`, { cause: parsed.error });
  }
  const e = parsed.data;
  const server = e.GITHUB_SERVER_URL.replace(/\/+$/, '');
  const repository = `${server}/${e.GITHUB_REPOSITORY}`;
  // GITHUB_WORKFLOW_REF is "<owner>/<repo>/<path>@<ref>".
  const at = e.GITHUB_WORKFLOW_REF.lastIndexOf('@');
  const prefix = `${e.GITHUB_REPOSITORY}/`;
  if (at < 0 || !e.GITHUB_WORKFLOW_REF.startsWith(prefix)) throw new SigningError('PROVENANCE_INVALID', 'GITHUB_WORKFLOW_REF does not name a workflow of GITHUB_REPOSITORY');
  const path = e.GITHUB_WORKFLOW_REF.slice(prefix.length, at);
  const ref = e.GITHUB_WORKFLOW_REF.slice(at + 1);
  return {
    buildDefinition: {
      buildType: GITHUB_ACTIONS_BUILD_TYPE,
      externalParameters: { workflow: { ref, repository, path } },
      internalParameters: {
        github: {
          event_name: e.GITHUB_EVENT_NAME,
          ...(e.GITHUB_REPOSITORY_ID ? { repository_id: e.GITHUB_REPOSITORY_ID } : {}),
          ...(e.GITHUB_REPOSITORY_OWNER_ID ? { repository_owner_id: e.GITHUB_REPOSITORY_OWNER_ID } : {}),
          runner_environment: e.RUNNER_ENVIRONMENT,
        },
      },
      resolvedDependencies: [{ uri: `git+${repository}@${e.GITHUB_REF}`, digest: { gitCommit: e.GITHUB_SHA } }],
    },
    runDetails: {
      builder: { id: `https://github.com/actions/runner/${e.RUNNER_ENVIRONMENT}` },
      metadata: {
        invocationId: `${repository}/actions/runs/${e.GITHUB_RUN_ID}/attempts/${e.GITHUB_RUN_ATTEMPT}`,
        ...(options.startedOn ? { startedOn: options.startedOn.toISOString() } : {}),
      },
    },
  };
}
