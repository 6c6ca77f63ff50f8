// `node dist/bench/profile-summary.js [ours-sqlite|ours-postgres|baseline-memory|file.cpuprofile]`: where the provider spent its CPU in
// a profile written by `npm run bench -- --cpu-prof`: self time by package and by function.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../src/paths.js';
import { table } from './stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function newestProfile(): string {
  const dir = join(projectRoot, 'bench', 'profiles', process.argv[2] ?? 'ours-sqlite');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}: run npm run bench -- --cpu-prof first`);
  return files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
}

function area(url: string): string {
  if (!url) return '(native/gc/idle)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0];
  if (url.includes('/dist/src/')) return 'ours: ' + url.split('/dist/src/')[1];
  return url;
}

const file = process.argv[2]?.endsWith('.cpuprofile') ? process.argv[2] : newestProfile();
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName !== '(idle)').reduce((a, [, us]) => a + us, 0);

const byArea = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { callFrame } = byId.get(id)!;
  if (callFrame.functionName === '(idle)') continue;
  const key = area(callFrame.url);
  byArea.set(key, (byArea.get(key) ?? 0) + us);
  const fn = `${callFrame.functionName || '(anonymous)'} ${key}:${callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
// Inclusive time of our own functions and of the packages they call into: where a stack
// passes through them, however deep the work below.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const inclusive = new Map<string, number>();
profile.samples.forEach((id, i) => {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { callFrame } = byId.get(at)!;
    if (!callFrame.url.includes('/dist/src/') || callFrame.functionName === '(idle)') continue;
    seen.add(`${callFrame.functionName || '(anonymous)'} ${area(callFrame.url)}:${callFrame.lineNumber + 1}`);
  }
  for (const key of seen) inclusive.set(key, (inclusive.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

const pct = (us: number) => `${((us / total) * 100).toFixed(1)}%`;
const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => [k, pct(us)]);
process.stdout.write(
  `${file}\nbusy CPU: ${(total / 1e6).toFixed(1)} s (idle excluded)\n\nself time by area\n${table([['area', 'share'], ...top(byArea, 25)])}\n\n`,
);
process.stdout.write(`time spent in and below our functions\n${table([['function', 'share'], ...top(inclusive, 30)])}\n\n`);
process.stdout.write(`self time by function\n${table([['function', 'share'], ...top(byFunction, 40)])}\n`);
