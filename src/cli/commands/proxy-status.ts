/**
 * meshbox proxy-status: which proxies are connected to the control plane and whether each type of
 * their config is in sync (istioctl proxy-status). A NACKed type shows the rejected version's error
 * below the table.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { renderTable } from '../format.js';
import { Usage } from '../errors.js';
import type { ProxyStatusRow } from '../../meshconfig/xds/status.js';

const TYPES = ['clusters', 'endpoints', 'listeners', 'routes'] as const;

export function register(program: Command, ctx: CliContext): void {
  program
    .command('proxy-status')
    .description('show every proxy connected to the control plane and whether its config is in sync')
    .option('-o, --output <format>', 'json')
    .action(async (opts: { output?: string }) => {
      if (opts.output !== undefined && opts.output !== 'json') throw Usage(`-o ${opts.output} is not supported here; use -o json`);
      const list = await ctx.client().get<{ items: ProxyStatusRow[] }>('/apis/meshbox.dev/v1/proxy-status');
      if (opts.output === 'json') return ctx.out(JSON.stringify(list, null, 2) + '\n');
      ctx.out(renderProxyStatus(list.items));
    });
}

export function renderProxyStatus(rows: ProxyStatusRow[]): string {
  if (rows.length === 0) return 'No proxies are connected to the control plane.\n';
  const table = rows.map((r) => {
    const [ns, name] = r.workload.split('/');
    return [`${name}.${ns}`, r.kind, ...TYPES.map((t) => r.types[t]?.state ?? 'NOT SENT'), r.desiredVersion];
  });
  let out = renderTable(['NAME', 'KIND', 'CLUSTERS', 'ENDPOINTS', 'LISTENERS', 'ROUTES', 'VERSION'], table);
  for (const r of rows) {
    if (r.lastNack && TYPES.some((t) => r.types[t]?.state === 'NACKED')) {
      out += `\n${r.workload}: version ${r.lastNack.version} (${r.lastNack.type}) was rejected: ${r.lastNack.error}\n`;
    }
  }
  return out;
}
