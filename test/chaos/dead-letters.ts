/**
 * How the long-lived scenario reads and replays dead-lettered outbox entries (entries the outbox
 * gave up on after its attempts: moved out of the instance, with the reason, replayable).
 *
 * The framework's dead-letter API is being built (issue 14, item 2). Until the harness's store
 * offers it, {@link deadLetterAccess} returns undefined and the scenario's check reports that it
 * cannot check the dead-lettered entries, as a violation.
 */
import { type Db } from 'mongodb';

/** A dead-lettered `Audit` entry, as the check needs it. */
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
  deadLetteredAt?: Date;
}

/** Lists and replays dead-lettered entries. */
export interface DeadLetterAccess {
  list(): Promise<DeadLetterView[]>;
  /** Replays (sends again) every dead-lettered entry; resolves with how many. */
  replayAll(): Promise<number>;
}

/** The store's dead-letter API, or undefined while the framework has none. */
export function deadLetterAccess(_db: Db): DeadLetterAccess | undefined {
  return undefined;
}
