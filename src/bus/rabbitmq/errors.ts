import { LonghaulError } from '../../errors.js';

/** Why the transport could not open (or reopen) its connection. */
export type RabbitMqConnectionProblem = 'unreachable' | 'authentication' | 'vhost' | 'handshake';

/**
 * The broker could not be reached or refused the connection. The message names the problem and the
 * URL with its password masked; `code` is `rabbitmq/<problem>`.
 */
export class RabbitMqConnectionError extends LonghaulError {
  readonly problem: RabbitMqConnectionProblem;

  constructor(problem: RabbitMqConnectionProblem, message: string, options?: { cause?: unknown }) {
    super(`rabbitmq/${problem}`, message, options);
    this.problem = problem;
  }
}

/**
 * The broker refused (nacked) a publish, it was not confirmed in time, its channel kept closing, or
 * the user may not write to the exchange (`access-refused`, not tried again). Retryable as a message.
 */
export class RabbitMqPublishError extends LonghaulError {
  constructor(
    code: 'nacked' | 'timeout' | 'channel-closed' | 'access-refused',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`rabbitmq/${code}`, message, options);
  }
}

/** A queue or exchange could not be declared as configured (e.g. it exists with another queue type). */
export class RabbitMqTopologyError extends LonghaulError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('rabbitmq/topology', message, options);
  }
}

/** An operation on a transport that was closed, or whose reconnection gave up. */
export class TransportClosedError extends LonghaulError {
  constructor(message = 'The RabbitMQ transport is closed', options?: { cause?: unknown }) {
    super('rabbitmq/closed', message, options);
  }
}

/** The AMQP reply code of an amqplib error (e.g. 404 NOT_FOUND, 406 PRECONDITION_FAILED), if any. */
export function replyCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
