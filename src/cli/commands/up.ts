/** meshbox up [-f PATH]... [--detach] [--bridge ...]: start the daemon, then apply PATHs. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { collect, onOff, positiveInt } from './common.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('start the daemon (foreground unless --detach) and apply manifests')
    .option('-f, --filename <path>', 'manifests to apply once the daemon is up (repeatable)', collect, [])
    .option('--detach', 'run the daemon in the background (log in <state-dir>/daemon.log)')
    .option('--bridge <name>', 'Linux bridge for pods (default mbx0)')
    .option('--pod-cidr <cidr>', 'pod addresses (default 10.244.0.0/16)')
    .option('--service-cidr <cidr>', 'service virtual IPs (default 10.96.0.0/16)')
    .option('--cluster-domain <domain>', 'cluster DNS domain (default cluster.local)')
    .option('--dns-port <port>', 'cluster DNS port on the bridge address (default 53)', positiveInt('--dns-port'))
    .option('--egress', 'let pod traffic leave this machine (off by default)')
    .option('--metrics-address <host:port|off>', 'serve every proxy\'s metrics at http://HOST:PORT/metrics (default 127.0.0.1:15014, istiod\'s; 0 = any free port)')
    .option('--sidecar-injection <on|off>', 'add the sidecar proxy to pods that do not opt out (default on)', onOff('--sidecar-injection'))
    .action(async (opts: { filename: string[]; detach?: boolean; bridge?: string; podCidr?: string; serviceCidr?: string; clusterDomain?: string; dnsPort?: number; egress?: boolean; sidecarInjection?: boolean; metricsAddress?: string }) => {
      const stateDir = ctx.stateDir();
      // the daemon's modules load only for this command: other commands stay quick to start
      const { up } = await import('../up-down.js');
      await up(
        {
          stateDir,
          ...(opts.detach ? { detach: true } : {}),
          ...(opts.bridge ? { bridge: opts.bridge } : {}),
          ...(opts.podCidr ? { podCidr: opts.podCidr } : {}),
          ...(opts.serviceCidr ? { serviceCidr: opts.serviceCidr } : {}),
          ...(opts.clusterDomain ? { clusterDomain: opts.clusterDomain } : {}),
          ...(opts.dnsPort !== undefined ? { dnsPort: opts.dnsPort } : {}),
          ...(opts.egress ? { egress: true } : {}),
          ...(opts.metricsAddress !== undefined ? { metricsAddress: opts.metricsAddress } : {}),
          ...(opts.sidecarInjection !== undefined ? { sidecarInjection: opts.sidecarInjection } : {}),
        },
        opts.filename.length === 0
          ? undefined
          : async () => {
              const { run } = await import('../main.js');
              const args = ['--state-dir', stateDir, 'apply', ...opts.filename.flatMap((f) => ['-f', f])];
              const code = await run(args, ctx.io);
              if (code !== 0) ctx.exitCode = code;
            },
      );
    });
}
