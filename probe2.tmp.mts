import 'reflect-metadata';
import { MongoClient } from 'mongodb';
import { MongoSagaStore, silentLogger } from './src/index.js';
const client = new MongoClient(process.env.MONGODB_URL!);
await client.connect();
const store = new MongoSagaStore({ client, database: 'lh_bench_instances_100000', logger: silentLogger });
const t0 = Date.now(); await store.init(); console.log('init', Date.now() - t0);
await client.close();
