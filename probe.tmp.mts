import { MongoClient } from 'mongodb';
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
const c = new MongoClient(process.env.MONGODB_URL!);
await c.connect();
const col = c.db('lh_bench_instances_100000').collection('longhaul_sagas');
async function t(name: string, f: () => Promise<unknown>) {
  const t0 = performance.now(); const r = await f();
  console.log(name.padEnd(50), (performance.now() - t0).toFixed(1), 'ms', JSON.stringify(r)?.slice(0, 80));
}
console.log('load', loadavg());
await t('estimatedDocumentCount', () => col.estimatedDocumentCount());
await t('count sagaType=Order (20k)', () => col.countDocuments({ sagaType: 'bench.Order' }));
await t('count sagaType=Order status=active', () => col.countDocuments({ sagaType: 'bench.Order', status: 'active' }));
await t('count cmd sagaType=Order', () => c.db('lh_bench_instances_100000').command({ count: 'longhaul_sagas', query: { sagaType: 'bench.Order' } }));
await t('find sagaType=Order limit 50 no sort', () => col.find({ sagaType: 'bench.Order' }).limit(50).toArray().then(a => a.length));
await t('find sagaType=Order limit 50 no sort proj', () => col.find({ sagaType: 'bench.Order' }, { projection: { _id: 1 } }).limit(50).toArray().then(a => a.length));
await t('find {} limit 50 no sort', () => col.find({}).limit(50).toArray().then(a => a.length));
await t('find labelTerms customer=c-42', () => col.find({ labelTerms: 'customer=c-42' }).toArray().then(a => a.length));
await t('find labelTerms region=eu (20k)', () => col.find({ labelTerms: 'region=eu' }).toArray().then(a => a.length));
await t('find _id in 50', () => col.find({ _id: { $in: Array.from({length: 50}, (_, i) => 'bench.Order/x' + i) } }).toArray().then(a => a.length));
await c.close();
