/** meshbox proxy --config FILE: the sidecar proxy, standalone, reloading FILE when it changes. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { Usage } from '../errors.js';
import { runProxyProcess } from '../../proxy/node-flags.js';

interface ProxyOpts {
  config?: string;
  xds?: string;
  node?: string;
  tokenFile?: string;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('proxy')
    .description('run the sidecar proxy standalone from a config file (docs/proxy-config.md); SIGTERM drains')
    .option('--config <file>', 'proxy config file (YAML or JSON); reloaded when it changes (with --xds: only its bootstrap is used)')
    .option('--xds <socket>', 'take the config from the control plane at this unix socket instead')
    .option('--node <id>', 'with --xds: the node id (sidecar~IP~POD.NS~NS.svc.cluster.local or router~…)')
    .option('--token-file <file>', 'with --xds: file holding the proxy token the daemon issued')
    .action(async (opts: ProxyOpts) => {
      if (opts.xds !== undefined) return runFromXds(opts, ctx);
      if (!opts.config) throw Usage('meshbox proxy needs --config FILE (see docs/proxy-config.md)');
      // The proxy runs in its own lean process with small V8 semi-spaces (src/proxy/node-flags.ts):
      // this CLI process alone would put a sidecar past 50 MB RSS. Signals are forwarded.
      ctx.warn(`meshbox proxy serving ${opts.config}\n`);
      process.exit(await runProxyProcess(opts.config));
    });
}

// In this process, not the lean child: the gateway proxy on the host is one per Gateway, and the
// control plane's stream needs no V8 tuning; the process keeps running on its servers.
async function runFromXds(opts: ProxyOpts, ctx: CliContext): Promise<void> {
  if (!opts.node || !opts.tokenFile) throw Usage('meshbox proxy --xds SOCKET needs --node ID and --token-file FILE');
  let token: string;
  try {
    token = readFileSync(opts.tokenFile, 'utf8').trim();
  } catch (err) {
    throw Usage(`cannot read the proxy token file ${opts.tokenFile}: ${(err as Error).message}`);
  }
  const [{ runProxyFromXds }, { loadProxyConfigFile }] = await Promise.all([import('../../proxy/run-from-xds.js'), import('../../meshconfig/load-proxy-config-file.js')]);
  const bootstrap = opts.config ? (await loadProxyConfigFile(opts.config)).bootstrap : undefined;
  ctx.warn(`meshbox proxy ${opts.node} taking its config from ${opts.xds}\n`);
  await runProxyFromXds({ target: { path: opts.xds! }, nodeId: opts.node, token, ...(bootstrap ? { bootstrap } : {}) });
}
