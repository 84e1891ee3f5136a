/**
 * How the long-lived scenario reads and replays dead-lettered outbox entries (entries the outbox
 * gave up on after `outbox.maxAttempts`: moved out of the instance with the reason, replayable),
 * the way an operator would: an endpoint of its own on the run's store and broker, whose
 * `outboxDeadLetters` lists them and replays them with their original message ids.
 */
import { type MongoClient } from 'mongodb';
import {
  Endpoint,
  type Logger,
  MongoSagaStore,
  type OutboxDeadLetter,
  RabbitMqTransport,
} from '../../src/index.js';
import { Headers } from '../../src/messages/envelope.js';

/** A dead-lettered entry, as the check needs it. */
export interface DeadLetterView {
  /** The outbox entry's id (= the message id it is sent with). */
  entryId: string;
  sagaType: string;
  sagaId: string;
  destination?: string;
  messageType?: string;
  /** The message body (for `Audit`: accountId, seq, sentAt). */
  body: Record<string, unknown>;
  reason: string;
  attempts?: number;
  deadLetteredAt: Date;
}

/** Lists and replays the dead-lettered entries of one saga type. */
export interface DeadLetterAccess {
  list(): Promise<DeadLetterView[]>;
  /** Replays every one; resolves with how many went out and the errors of those that did not. */
  replayAll(): Promise<{ replayed: number; failed: string[] }>;
  close(): Promise<void>;
}

function view(letter: OutboxDeadLetter): DeadLetterView {
  const { entry } = letter;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(entry.message?.body ?? '{}') as Record<string, unknown>;
  } catch {
    // left empty: the check reports the entry as not an Audit
  }
  return {
    entryId: entry.id,
    sagaType: letter.sagaType,
    sagaId: letter.sagaId,
    destination: entry.destination,
    messageType: entry.message?.headers[Headers.type],
    body,
    reason: letter.reason,
    attempts: entry.attempts,
    deadLetteredAt: letter.deadLetteredAt,
  };
}

/**
 * Starts an operator endpoint (`ops`) on the run's store and broker. It sweeps nothing during the
 * check (its sweep interval is an hour); the workers' sweepers still run.
 */
export async function deadLetterAccess(options: {
  client: MongoClient;
  database: string;
  rabbitUrl: string;
  prefix: string;
  sagaType: string;
  logger: Logger;
}): Promise<DeadLetterAccess> {
  const store = new MongoSagaStore({ client: options.client, database: options.database });
  const transport = new RabbitMqTransport({
    url: options.rabbitUrl,
    prefix: options.prefix,
    connectionName: `${options.prefix}ops`,
    logger: options.logger,
  });
  const endpoint = new Endpoint({
    name: 'ops',
    transport,
    sagaStore: store,
    logger: options.logger,
    outbox: { sweepInterval: '1h' },
  });
  await endpoint.start();
  const filter = { sagaType: options.sagaType };
  return {
    async list() {
      const all: DeadLetterView[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await endpoint.outboxDeadLetters.list(filter, { limit: 100, after });
        all.push(...page.map(view));
        if (page.length < 100) return all;
        after = page.at(-1)?.entry.id;
      }
    },
    async replayAll() {
      const { replayed, failed } = await endpoint.outboxDeadLetters.replayAll(filter);
      return { replayed, failed: failed.map((f) => `${f.entryId}: ${f.error}`) };
    },
    async close() {
      await endpoint.stop();
      await transport.close();
    },
  };
}
