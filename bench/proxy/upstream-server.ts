/**
 * The benchmark's upstream: a minimal keep-alive Node.js HTTP server. `/<n>` answers n bytes
 * (the bench uses /100 and /4096). Prints {"port": N} on stdout once listening.
 */
import { createServer } from 'node:http';

const bodies = new Map<number, Buffer>();
function body(n: number): Buffer {
  let b = bodies.get(n);
  if (b === undefined) {
    b = Buffer.alloc(n, 'x');
    bodies.set(n, b);
  }
  return b;
}

const server = createServer((req, res) => {
  const n = Math.min(Number((req.url ?? '/100').slice(1)) || 100, 1 << 20);
  const b = body(n);
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': b.length });
  res.end(b);
  req.resume();
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }) + '\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
