/**
 * meshbox proxy-config POD|gateway/NAME [listeners|routes|clusters|endpoints] [-n NS] [-o json]:
 * the config the control plane computed for one proxy (istioctl proxy-config), with the version
 * the proxy ACKed per type.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { renderTable } from '../format.js';
import { Usage } from '../errors.js';
import { namespaceOption } from './common.js';
import type { ConfigDump } from '../../meshconfig/xds/status.js';
import type { Listener, Snapshot } from '../../meshconfig/types.js';

const SECTIONS = ['listeners', 'routes', 'clusters', 'endpoints'] as const;
type Section = (typeof SECTIONS)[number];

export function register(program: Command, ctx: CliContext): void {
  program
    .command('proxy-config')
    .description("show the config of one proxy: a pod's sidecar or gateway/NAME")
    .argument('<proxy>', 'POD, pod/POD or gateway/NAME')
    .argument('[section]', SECTIONS.join('|'))
    .option('-n, --namespace <namespace>', 'namespace (default: default)')
    .option('-o, --output <format>', 'json')
    .action(async (proxy: string, section: string | undefined, opts: { namespace?: string; output?: string }) => {
      if (section !== undefined && !(SECTIONS as readonly string[]).includes(section)) throw Usage(`unknown section "${section}": use one of ${SECTIONS.join(', ')}`);
      if (opts.output !== undefined && opts.output !== 'json') throw Usage(`-o ${opts.output} is not supported here; use -o json`);
      const name = proxyName(proxy);
      const workload = `${namespaceOption(opts)}/${name}`;
      const dump = await ctx.client().get<ConfigDump>(`/apis/meshbox.dev/v1/proxy-config?proxy=${encodeURIComponent(workload)}`);
      if (opts.output === 'json') {
        ctx.out(JSON.stringify(section ? sectionItems(dump.snapshot, section as Section) : dump, null, 2) + '\n');
        return;
      }
      ctx.out(renderProxyConfig(dump, section as Section | undefined));
    });
}

function proxyName(ref: string): string {
  const i = ref.indexOf('/');
  if (i < 0) return ref;
  const kind = ref.slice(0, i).toLowerCase();
  const name = ref.slice(i + 1);
  if (!['pod', 'pods', 'po', 'gateway', 'gateways', 'gw'].includes(kind) || !name) throw Usage(`"${ref}" is not POD, pod/NAME or gateway/NAME`);
  return name;
}

function sectionItems(s: Snapshot, section: Section): unknown[] {
  if (section === 'endpoints') return s.clusters.map((c) => ({ cluster: c.name, endpoints: c.endpoints }));
  if (section === 'clusters') return s.clusters.map(({ endpoints: _e, ...rest }) => rest);
  return s[section];
}

export function renderProxyConfig(dump: ConfigDump, section?: Section): string {
  const s = dump.snapshot;
  const parts: string[] = [];
  const want = (x: Section): boolean => section === undefined || section === x;
  const title = (x: Section): string => (section === undefined ? `${x.toUpperCase()} (acked version ${dump.acked[x] || 'none'})\n` : '');
  if (want('listeners')) {
    parts.push(title('listeners') + renderTable(['NAME', 'ADDRESS', 'PORT', 'PROTOCOL', 'DESTINATION'], s.listeners.map((l) => [l.name, l.address, String(l.port), l.protocol, listenerDestination(l)])));
  }
  if (want('routes')) {
    const rows = s.routes.flatMap((rc) => rc.virtualHosts.map((vh) => [rc.name, vh.name, vh.domains.join(','), vh.routes.map((r) => r.name).join(',')]));
    parts.push(title('routes') + renderTable(['ROUTE CONFIG', 'VIRTUAL HOST', 'DOMAINS', 'ROUTES'], rows));
  }
  if (want('clusters')) {
    parts.push(title('clusters') + renderTable(['NAME', 'PROTOCOL', 'ENDPOINTS'], s.clusters.map((c) => [c.name, c.protocol, String(c.endpoints.length)])));
  }
  if (want('endpoints')) {
    const rows = s.clusters.flatMap((c) => c.endpoints.map((e) => [`${e.address}:${e.port}`, c.name]));
    parts.push(title('endpoints') + renderTable(['ENDPOINT', 'CLUSTER'], rows));
  }
  return parts.join('\n');
}

/** Where a listener sends traffic: its route config, its TCP cluster, and what it does by original destination. */
function listenerDestination(l: Listener): string {
  const parts: string[] = [];
  if (l.routeConfig) parts.push(`route: ${l.routeConfig}`);
  if (l.tcpCluster) parts.push(`cluster: ${l.tcpCluster}`);
  if (l.originalDst) {
    const tcp = Object.keys(l.originalDst.tcp ?? {}).length;
    parts.push(`original destination: ${tcp} tcp ${tcp === 1 ? 'entry' : 'entries'}, ${l.originalDst.passthrough ? 'passthrough' : 'no passthrough'}`);
  }
  return parts.join('; ') || '-';
}
