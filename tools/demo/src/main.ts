// The one-command demo: `pnpm demo` (add `--reset` to start from scratch).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemo } from './start-demo';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = path.join(repoRoot, '.data', 'demo');
const reset = process.argv.includes('--reset');
const stateFile = path.relative(repoRoot, path.join(dataDir, 'demo-project.json'));

console.log(
  `Starting Herald (API + dispatcher on embedded PGlite) and the demo consumer${reset ? ', from scratch' : ''}…`,
);
const demo = await startDemo({ dataDir, reset, log: (line) => console.log(`  ${line}`) });
console.log(`
  Herald demo is running.

    Demo page (open this):  ${demo.pageUrl}
    Herald portal:          ${demo.portalUrl}   (a fresh single-use link at each visit)
    Herald API:             ${demo.platformUrl}   (reference: ${demo.platformUrl}/docs)

  The demo project's API key is in ${stateFile} (not printed: keys are shown once, where made).
  Call the API with it, from this folder:

    curl -H "Authorization: Bearer $(node -p "require('./${stateFile}').apiKey")" ${demo.platformUrl}/v1/users

  Data is kept in ${path.relative(repoRoot, dataDir)}; \`pnpm demo --reset\` starts from scratch.
  Press Ctrl-C to stop.
`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  console.log('\nStopping…');
  await demo.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
