/**
 * `npx tsx bench/cpu-s.ts [n] [rounds]`: workload S in memory, reported per CPU second of this
 * process (user + system, GC threads included) as well as per wall second. On a shared, noisy
 * machine the CPU figure moves far less than the wall one, so it is the one to compare when
 * profiling the commit path (before ÷ after, in one run each, on the same machine). Compiled
 * (`npm run bench:build`, then `node .bench-build/bench/cpu-s.js`) it runs without tsx's hooks.
 */
import 'reflect-metadata';
import { runLonghaulS, MESSAGES_PER_SAGA } from './workload-s.js';

const n = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
await runLonghaulS(Math.min(n, 2000), 8); // warm-up
const perCpu: number[] = [];
for (let i = 0; i < rounds; i++) {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  const sample = await runLonghaulS(n, 8);
  const used = process.cpuUsage(cpu);
  const seconds = (used.user + used.system) / 1e6;
  const messages = n * MESSAGES_PER_SAGA;
  perCpu.push(messages / seconds);
  console.log(
    `round ${i + 1}: ${Math.round(messages / seconds)} msg per CPU second, ${Math.round(messages / ((performance.now() - wall) / 1000))} msg/s wall, ${((seconds * 1e6) / messages).toFixed(1)} CPU µs/msg${sample.invalid ? ` (invalid: ${sample.invalid})` : ''}`,
  );
}
perCpu.sort((a, b) => a - b);
console.log(`median: ${Math.round(perCpu[Math.floor(perCpu.length / 2)]!)} msg per CPU second`);
