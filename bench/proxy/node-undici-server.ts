/**
 * The reference of issue 4: a bare node:http server in front of an undici Pool, copying headers
 * once and streaming the body back, with no routing, metrics or logs. It is the floor a Node.js
 * proxy can reach. Usage: node node-undici-server.js UPSTREAM_PORT LISTEN_PORT
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const upstreamPort = Number(process.argv[2]);
const listenPort = Number(process.argv[3]);
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: 128, pipelining: 1 });

const server = createServer((req, res) => {
  const headers: Record<string, string | string[] | undefined> = {};
  for (const k in req.headers) if (k !== 'connection' && k !== 'host' && k !== 'keep-alive') headers[k] = req.headers[k];
  pool.dispatch(
    { path: req.url ?? '/', method: req.method ?? 'GET', headers: headers as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req },
    {
      onConnect() {},
      onHeaders(status: number, raw: Buffer[]) {
        const h: string[] = [];
        for (let i = 0; i < raw.length; i += 2) {
          const k = (raw[i] as Buffer).toString('latin1');
          if (k.toLowerCase() === 'connection' || k.toLowerCase() === 'keep-alive') continue;
          h.push(k, (raw[i + 1] as Buffer).toString('latin1'));
        }
        res.writeHead(status, h);
        return true;
      },
      onData(chunk: Buffer) {
        return res.write(chunk);
      },
      onComplete() {
        res.end();
      },
      onError() {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      },
    } as never,
  );
});
server.keepAliveTimeout = 120_000;
server.listen(listenPort, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: listenPort }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
