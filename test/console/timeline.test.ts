import { describe, expect, it } from 'vitest';
import { timelineOf } from '../../src/console/timeline.js';
import { type InstanceDetail } from '../../src/operations/index.js';

const at = (minute: number): Date => new Date(Date.UTC(2026, 10, 23, 9, minute));

const detail: InstanceDetail = {
  kind: 'saga',
  type: 'OrderFulfilment',
  id: 'i-1',
  correlationKey: 'o-1',
  status: 'active',
  version: 3,
  labels: {},
  createdAt: at(0),
  updatedAt: at(5),
  outboxPending: 1,
  timeoutsPending: 1,
  state: { total: 1 },
  stateVersion: 1,
  dedupe: {
    size: 2,
    recent: [
      { id: 'm-2', at: at(5) },
      { id: 'm-1', at: at(0) },
    ],
  },
  outbox: [
    {
      id: 'e-1',
      operation: 'send',
      messageType: 'payments.Charge',
      destination: 'billing',
      createdAt: at(5),
      attempts: 2,
      lastError: 'broker down',
    },
  ],
  timeouts: [{ id: 't-1', type: 'shop.PaymentOverdue', dueAt: at(15) }],
  recentErrors: [{ source: 'outbox', at: at(6), message: 'broker down', ref: 'e-1' }],
  actions: [
    {
      id: 'a-1',
      action: 'saga.retry-outbox',
      at: at(7),
      target: { kind: 'saga', type: 'OrderFulfilment', id: 'i-1' },
      reason: 'broker back',
      by: 'console@127.0.0.1',
      outcome: 'done',
    },
  ],
};

describe('timelineOf', () => {
  it('merges every source, oldest first, the latest commit after what happened at its time', () => {
    const rows = timelineOf(detail).map((e) => `${e.at?.toISOString().slice(11, 16)} ${e.kind} ${e.title}`);
    expect(rows).toEqual([
      '09:00 created Instance created (saga OrderFulfilment)',
      '09:00 handled Message handled: m-1',
      '09:05 handled Message handled: m-2',
      '09:05 error Outbox send: payments.Charge → billing (pending, 2 attempt(s))',
      '09:05 commit Latest commit: version 3',
      '09:06 error Error (outbox): broker down',
      '09:07 action Action saga.retry-outbox done by console@127.0.0.1: broker back',
      '09:15 timer Timeout shop.PaymentOverdue due (pending, id t-1)',
    ]);
  });
});
