import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the relay does with the next requests: forward them to the real registry, or play an
 * attacker on the network path (or an overloaded registry) for some of them.
 */
export type RelayMode =
  | { kind: 'forward' }
  /** Answers `POST /v1/status` with these bytes (a replay). */
  | { kind: 'replay-status'; body: Buffer }
  /** Answers `POST /v1/status` with this HTTP status and a problem+json body (a 3xx also with a `location` on another origin). */
  | { kind: 'status-http'; status: number; code: string }
  /** Removes a version from the server listing `GET /v1/servers/{ns}/{name}` (a freeze). */
  | { kind: 'hide-version'; version: string }
  /** Rewrites the `digest` field of version records (GET .../versions/{v}) to this value. */
  | { kind: 'claim-digest'; digest: string }
  | { kind: 'swap-version'; from: string; to: string }
  /** Sends requests whose path starts with `prefix` to another upstream (say, a fork of the registry holding its keys). */
  | { kind: 'reroute'; prefix: string; upstream: string }
  /** Rewrites the JSON body of requests whose path matches (`request`), and the JSON of their 200 answers (`rewrite`). */
  | { kind: 'rewrite'; path: RegExp; rewrite?: (json: unknown, url: string) => unknown; request?: (json: unknown, url: string) => unknown }
  /** Drops the connection of requests whose path starts with `prefix`, unanswered (a network failure on that path only). */
  | { kind: 'drop'; prefix: string }
  | { kind: 'huge' }
  | { kind: 'silent' };

export interface HostileRelay {
  url: string;
  mode: RelayMode;
  /** The last status answer forwarded from the registry. */
  lastStatus?: Buffer;
  /**
   * Holds the next request whose path matches until `open()` (whatever the mode): `arrived`
   * resolves when it is held, so a test orders two hosts' steps by events, not by time.
   */
  gate(path: RegExp): { arrived: Promise<void>; open: () => void };
  /** Stops listening (connections are then refused) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A small HTTP relay in front of the real registry process, on 127.0.0.1: it forwards everything
 * unless a test sets a hostile `mode`. Hosts pin the relay's URL in their policy.
 */
export async function startHostileRelay(upstream: string): Promise<HostileRelay> {
  let server: Server;
  let port = 0;
  const relay: HostileRelay = {
    url: '',
    mode: { kind: 'forward' },
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
    start: async () => {
      server = createServer(handle);
      await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
      relay.url = `http://127.0.0.1:${port}`;
    },
    close: () => relay.stop(),
    gate: (path) => {
      let arrive!: () => void;
      let open!: () => void;
      const arrived = new Promise<void>((r) => (arrive = r));
      const opened = new Promise<void>((r) => (open = r));
      gates.push({ path, arrive, opened });
      return { arrived, open };
    },
  };
  const gates: Array<{ path: RegExp; arrive: () => void; opened: Promise<void> }> = [];

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const held = gates.findIndex((g) => g.path.test(req.url!));
      if (held >= 0) {
        const [gate] = gates.splice(held, 1);
        gate!.arrive();
        return void gate!.opened.then(() => answer(req, res, chunks));
      }
      answer(req, res, chunks);
    });
  }

  function answer(req: IncomingMessage, res: ServerResponse, chunks: Buffer[]): void {
    {
      const mode = relay.mode;
      if (mode.kind === 'silent') return; // never answers
      if (mode.kind === 'drop' && req.url!.startsWith(mode.prefix)) return void req.socket.destroy();
      if (mode.kind === 'huge') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const block = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const push = (): void => {
          while (sent < 50) {
            sent++;
            if (!res.write(block)) return void res.once('drain', push);
          }
          res.end();
        };
        return push();
      }
      if (req.url === '/v1/status' && mode.kind === 'replay-status') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(mode.body);
      }
      if (req.url === '/v1/status' && mode.kind === 'status-http') {
        const requestId = `relay-${Date.now()}`;
        // A redirect names another origin (a captive portal, or an attacker hoping the token follows).
        const location = mode.status >= 300 && mode.status < 400 ? { location: 'http://127.0.0.1:1/elsewhere' } : {};
        res.writeHead(mode.status, { 'content-type': 'application/problem+json', 'x-request-id': requestId, ...location });
        return void res.end(JSON.stringify({ type: 'about:blank', title: mode.code, status: mode.status, code: mode.code, detail: 'refused by the relay', requestId }));
      }
      const target = mode.kind === 'swap-version' ? req.url!.replace(mode.from, mode.to) : req.url!;
      const base = mode.kind === 'reroute' && req.url!.startsWith(mode.prefix) ? mode.upstream : upstream;
      let sent = Buffer.concat(chunks);
      const headers = { ...req.headers };
      if (mode.kind === 'rewrite' && mode.request && mode.path.test(req.url!) && sent.length > 0) {
        sent = Buffer.from(JSON.stringify(mode.request(JSON.parse(sent.toString('utf8')), req.url!)));
        headers['content-length'] = String(sent.length);
      }
      const upstreamRequest = request(`${base}${target}`, { method: req.method, headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          let all = Buffer.concat(body);
          if (req.url === '/v1/status') relay.lastStatus = all;
          if (answer.statusCode === 200 && mode.kind === 'hide-version' && /^\/v1\/servers\/[^/]+\/[^/]+$/.test(req.url!)) {
            const listing = JSON.parse(all.toString('utf8')) as { versions: Array<{ version: string }> };
            listing.versions = listing.versions.filter((v) => v.version !== mode.version);
            all = Buffer.from(JSON.stringify(listing));
          }
          if (answer.statusCode === 200 && mode.kind === 'claim-digest' && /\/versions\/[^/]+$/.test(req.url!)) {
            const record = JSON.parse(all.toString('utf8')) as { digest: string };
            record.digest = mode.digest;
            all = Buffer.from(JSON.stringify(record));
          }
          if (answer.statusCode === 200 && mode.kind === 'rewrite' && mode.rewrite && mode.path.test(req.url!)) {
            all = Buffer.from(JSON.stringify(mode.rewrite(JSON.parse(all.toString('utf8')), req.url!)));
          }
          res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'application/json' });
          res.end(all);
        });
      });
      upstreamRequest.end(sent);
    }
  }

  await relay.start();
  return relay;
}
