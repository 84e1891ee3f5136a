/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): the functions with the most self time, and the
 * self time per package / source folder.
 *
 * `node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/run.ts --only S/longhaul/memory --rounds 1`
 * then `npx tsx bench/profile-top.ts /tmp/prof/<file>.cpuprofile [top]`. To profile the code as
 * shipped rather than as tsx transforms it: `npm run bench:build` (compiles src/ and bench/ to
 * `.bench-build/`), then `node --cpu-prof --cpu-prof-dir=/tmp/prof .bench-build/bench/cpu-s.js`.
 */
import { readFileSync } from 'node:fs';

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

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/profile-top.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

/** Where a frame's code lives: a package, a project folder, or a V8 pseudo-frame. */
function area(url: string, name: string): string {
  if (url === '') return `(${name || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const project = /\/(src\/[^/]+(?:\/[^/]+)?|bench)\/[^/]+$/.exec(url);
  if (project) return project[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?([^/]+).*/, 'node:$2');
  return url.replace(/^.*\//, '');
}

/** The checkout's folder (a worktree, or the compiled `.bench-build/`), cut from the labels. */
const ROOT = /^.*?\/(?:\.bench-build\/)?(?=(?:src|bench|node_modules)\/)/;

const functions = new Map<string, number>();
const areas = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = area(url, functionName);
  const label = `${functionName || '(anonymous)'} ${url ? `${url.replace(ROOT, '').replace(/^file:\/\//, '')}:${lineNumber + 1}` : ''}`;
  functions.set(label, (functions.get(label) ?? 0) + us);
  areas.set(where, (areas.get(where) ?? 0) + us);
}
const top = Number(topArg ?? 25);
const pct = (us: number): string => `${((us / total) * 100).toFixed(1)} %`;
console.log(`total sampled: ${(total / 1000).toFixed(0)} ms\n\n| self | function |\n| ---: | --- |`);
for (const [label, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`| ${pct(us)} | ${label} |`);
}
console.log('\n| self | where |\n| ---: | --- |');
for (const [where, us] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`| ${pct(us)} | ${where} |`);
}
