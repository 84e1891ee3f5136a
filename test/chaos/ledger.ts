/**
 * The effect ledger: one document per side effect, `_id` = the deterministic id of the message
 * that caused it (the unique `_id` index is what makes a plain handler's effect idempotent). A
 * second attempt with the same message id is refused by that index (error 11000) and counted in
 * `chaos_suppressed`, never hidden. A business effect applied twice under two different message
 * ids would pass the index, and is what the final check looks for (same kind + order twice).
 */
import { type Collection, MongoClient, MongoServerError } from 'mongodb';

export type EffectKind = 'charge' | 'ship' | 'completed' | 'cancelled' | 'credit' | 'audit' | 'statement';

export interface EffectDocument {
  _id: string;
  kind: EffectKind;
  orderId: string;
  worker: string;
  at: Date;
  /** The long-lived scenario's deposit number (effects `credit`, `audit`). */
  seq?: number;
  /** The account's applied count when it sent the credit (effect `credit`). */
  nth?: number;
  /** When the saga sent the audit (effect `audit`; ISO time). */
  sentAt?: string;
}

export interface SuppressedDocument {
  _id: EffectKind;
  count: number;
}

export const EFFECTS = 'chaos_effects';
export const SUPPRESSED = 'chaos_suppressed';

let client: MongoClient | undefined;
let target: { url: string; database: string } | undefined;

/** Where effects go when the process has no `LH_MONGODB_URL`/`LH_DATABASE` (the harness itself). */
export function useLedger(url: string, database: string): void {
  target = { url, database };
}

function collections(): { effects: Collection<EffectDocument>; suppressed: Collection<SuppressedDocument> } {
  const url = process.env.LH_MONGODB_URL ?? target?.url;
  const database = process.env.LH_DATABASE ?? target?.database;
  if (!url || !database) throw new Error('LH_MONGODB_URL and LH_DATABASE must be set');
  if (!client) {
    client = new MongoClient(url, {
      serverSelectionTimeoutMS: 10_000,
      serverMonitoringMode: monitoring(),
      socketTimeoutMS: 15_000,
      connectTimeoutMS: 5_000,
    });
    watchClient(client, 'ledger', (line) =>
      process.stderr.write(`${new Date().toISOString()} ledger ${line}\n`),
    );
  }
  const db = client.db(database);
  return {
    effects: db.collection<EffectDocument>(EFFECTS),
    suppressed: db.collection<SuppressedDocument>(SUPPRESSED),
  };
}

/**
 * Applies (records) the effect of `messageId` once. Returns false when the ledger already holds it:
 * a duplicate attempt (redelivery, a rerun after a crash, an injected duplicate), suppressed.
 * Throws on any other failure, so the handler fails and its message is retried.
 */
export async function recordEffect(
  kind: EffectKind,
  messageId: string,
  orderId: string,
  extra: Pick<EffectDocument, 'seq' | 'nth' | 'sentAt'> = {},
): Promise<boolean> {
  const { effects, suppressed } = collections();
  try {
    await effects.insertOne({
      _id: messageId,
      kind,
      orderId,
      worker: process.env.LH_WORKER ?? `pid-${process.pid}`,
      at: new Date(),
      ...extra,
    });
    return true;
  } catch (error) {
    if (!(error instanceof MongoServerError) || error.code !== 11000) throw error;
    await suppressed.updateOne({ _id: kind }, { $inc: { count: 1 } }, { upsert: true });
    return false;
  }
}

/**
 * The driver's server monitoring mode for the workers' clients (`LH_CHAOS_MONITORING`, default the
 * driver's own `auto`), to compare modes across a store restart; see docs/reliability.md.
 */
export function monitoring(): 'auto' | 'poll' | 'stream' {
  const mode = process.env.LH_CHAOS_MONITORING ?? 'auto';
  if (mode !== 'auto' && mode !== 'poll' && mode !== 'stream')
    throw new Error(`bad LH_CHAOS_MONITORING ${mode}`);
  return mode;
}

/** Logs a client's server description changes and failed heartbeats. */
export function watchClient(mongo: MongoClient, name: string, log: (line: string) => void): void {
  mongo.on('serverDescriptionChanged', (e) =>
    log(
      `${name} server ${e.previousDescription.type} -> ${e.newDescription.type} ${e.newDescription.error?.message ?? ''}`,
    ),
  );
  mongo.on('serverHeartbeatFailed', (e) => log(`${name} heartbeat failed: ${e.failure.message}`));
  // A server that stays Unknown for 15 s is how the driver hang of driver-guard.ts showed itself;
  // log what its monitor is doing (driver internals, read defensively) for the next such hunt.
  let unknownSince: number | undefined;
  let reported = false;
  mongo.on('serverDescriptionChanged', (e) => {
    if (e.newDescription.type !== 'Unknown') [unknownSince, reported] = [undefined, false];
    else unknownSince ??= Date.now();
  });
  setInterval(() => {
    if (unknownSince === undefined || reported || Date.now() - unknownSince < 15_000) return;
    reported = true;
    log(`${name} server Unknown for 15 s; monitor: ${JSON.stringify(monitorState(mongo))}`);
  }, 2000).unref();
}

interface MonitorInternals {
  s?: { state?: string };
  monitorId?: { toJSON?: () => unknown };
  connection?: { closed?: boolean; socket?: { destroyed?: boolean }; error?: { message?: string } } | null;
}

/** The first server's monitor state (undefined fields if the driver's internals differ). */
function monitorState(mongo: MongoClient): Record<string, unknown> {
  const topology = (mongo as unknown as { topology?: { s?: { servers?: Map<string, unknown> } } }).topology;
  const server = [...(topology?.s?.servers?.values() ?? [])][0] as { monitor?: MonitorInternals } | undefined;
  const monitor = server?.monitor;
  return {
    state: monitor?.s?.state,
    interval: monitor?.monitorId?.toJSON?.(),
    connectionClosed: monitor?.connection?.closed,
    socketDestroyed: monitor?.connection?.socket?.destroyed,
    connectionError: monitor?.connection?.error?.message,
  };
}

export async function closeLedger(): Promise<void> {
  await client?.close();
  client = undefined;
}
