/**
 * Starts the meshbox proxy from a config file, the way `meshbox proxy --config FILE` does:
 * through `runProxyFromFile` in src/proxy/main.ts when it exists, else by loading the file and
 * starting `Proxy` directly. Usage: node meshbox-proxy-child.js CONFIG_FILE
 * Prints {"ready": true} once listening.
 */
const file = process.argv[2] as string;
const here = new URL('.', import.meta.url);
// Module paths are computed so this file compiles whatever shape the proxy's modules have today.
const mainPath = new URL('../../src/proxy/main.js', here).href;
const proxyPath = new URL('../../src/proxy/proxy.js', here).href;
const loaderPath = new URL('../../src/meshconfig/load-proxy-config-file.js', here).href;

async function start(): Promise<void> {
  let main: Record<string, unknown> | undefined;
  try {
    main = (await import(mainPath)) as Record<string, unknown>;
  } catch {
    main = undefined;
  }
  if (main && typeof main['runProxyFromFile'] === 'function') {
    await (main['runProxyFromFile'] as (f: string) => Promise<unknown>)(file);
  } else {
    const { loadProxyConfigFile } = (await import(loaderPath)) as { loadProxyConfigFile(f: string): Promise<{ bootstrap: unknown; snapshot: unknown }> };
    const { Proxy } = (await import(proxyPath)) as { Proxy: new (o: { bootstrap: unknown }) => { start(s: unknown): Promise<void>; stop(): Promise<void> } };
    const cfg = await loadProxyConfigFile(file);
    const proxy = new Proxy({ bootstrap: cfg.bootstrap });
    await proxy.start(cfg.snapshot);
    process.on('SIGTERM', () => void proxy.stop().finally(() => process.exit(0)));
  }
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
}

start().catch((err: unknown) => {
  process.stderr.write(`meshbox proxy failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
