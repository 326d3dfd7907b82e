/**
 * The `http-proxy` npm package as a reverse proxy, configured as people usually run it: one
 * keep-alive agent to the upstream. Usage: node http-proxy-server.js UPSTREAM_PORT LISTEN_PORT
 */
import { createServer, Agent } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// http-proxy ships no types; only the two calls below are used.
const httpProxy = require('http-proxy') as {
  createProxyServer(opts: Record<string, unknown>): {
    web(req: unknown, res: unknown): void;
    on(event: 'error', fn: (err: Error, req: unknown, res: { writeHead?(s: number): void; end(): void }) => void): void;
  };
};

const upstreamPort = Number(process.argv[2]);
const listenPort = Number(process.argv[3]);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${upstreamPort}`, agent });
proxy.on('error', (_err, _req, res) => {
  try {
    res.writeHead?.(502);
    res.end();
  } catch {
    // the client is gone
  }
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 120_000;
server.listen(listenPort, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: listenPort }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
