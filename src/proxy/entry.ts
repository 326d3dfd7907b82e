/**
 * The sidecar process: `node <PROXY_V8_FLAGS> entry.js CONFIG_FILE`. It loads only the proxy (no
 * CLI, no pino), so a sidecar's RSS is the proxy's own; `meshbox proxy --config FILE` starts it.
 */
import { runProxyFromFile } from './main.js';

const file = process.argv[2];
if (file === undefined || file === '') {
  process.stderr.write('usage: node entry.js CONFIG_FILE (see docs/proxy-config.md)\n');
  process.exit(2);
}
runProxyFromFile(file).catch((err: unknown) => {
  process.stderr.write(`meshbox proxy failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
