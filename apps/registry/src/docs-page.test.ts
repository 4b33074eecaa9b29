import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { openDatabase, type OpenDatabase } from '@sigil/db';
import { chromium, type Browser } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { DEFAULT_SETTINGS } from './config.js';
import { loadRegistryKeys } from './keys.js';
import { createLinter } from './linter.js';
import { createMetrics } from './metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'sigil-docs-'));
let database: OpenDatabase;
let server: ServerType;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  database = openDatabase(join(dir, 'registry.db'));
  const app = createApp({ db: database.db, keys: await loadRegistryKeys(join(dir, 'keys')), settings: DEFAULT_SETTINGS, logger: pino({ level: 'silent' }), metrics: createMetrics(), linter: createLinter() });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve());
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
  database?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('when a browser opens /docs', () => {
  it('renders every operation of /openapi.json with Swagger UI from the package, loading nothing from elsewhere', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const foreign: string[] = [];
    const violations: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error') violations.push(m.text());
    });
    await page.goto(`${origin}/docs`);
    await page.waitForSelector('.swagger-ui .opblock-summary', { timeout: 30_000 });
    const ids = await page.$$eval('.opblock', (blocks) => blocks.length);
    const doc = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: Record<string, object> };
    const operations = Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(ids).toBe(operations);
    expect(await page.textContent('.swagger-ui .info .title')).toContain('Sigil registry');
    expect(await page.textContent('body')).toContain('/v1/publish');
    const shot = join(dir, 'docs.png');
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(foreign).toEqual([]);
    expect(violations).toEqual([]);
    await page.close();
  }, 60_000);
});
