import { MongoClient } from 'mongodb';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
const c = new MongoClient(process.env.MONGODB_URL!);
await c.connect();
const col = c.db('lh_bench_instances_100000').collection('longhaul_sagas');
async function t(name: string, f: () => Promise<unknown>) {
  const s: number[] = []; let r;
  for (let i = 0; i < 5; i++) { const t0 = performance.now(); r = await f(); s.push(performance.now() - t0); }
  s.sort((a, b) => a - b);
  console.log(name.padEnd(50), s.map(x => x.toFixed(1)).join(' '), JSON.stringify(r)?.slice(0, 60));
}
console.log('load', loadavg());
await t('find _id one', () => col.find({ _id: 'bench.Order/nope' }).toArray().then(a => a.length));
await t('find labelTerms customer=c-42 (100)', () => col.find({ labelTerms: 'customer=c-42' }).toArray().then(a => a.length));
await t('same, sort _id limit 50', () => col.find({ labelTerms: 'customer=c-42' }).sort({_id:1}).limit(50).toArray().then(a => a.length));
await t('same, projection _id', () => col.find({ labelTerms: 'customer=c-42' }, {projection: {_id: 1}}).toArray().then(a => a.length));
await t('count labelTerms customer=c-42', () => col.countDocuments({ labelTerms: 'customer=c-42' }));
await t('find labelTerms customer=c-4 (0)', () => col.find({ labelTerms: 'customer=c-4x' }).toArray().then(a => a.length));
await c.close();
