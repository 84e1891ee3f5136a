import { describe, expect, it } from 'vitest';
import { connectionErrorOf } from '../../src/bus/rabbitmq/connection.js';
import { resolveRabbitMqOptions } from '../../src/bus/rabbitmq/index.js';

const refused = new Error(
  'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN."',
);
const HINT = "the 'guest' user may only connect from localhost";

function loginError(url: string): string {
  return connectionErrorOf(refused, resolveRabbitMqOptions({ url })).message;
}

describe('the RabbitMQ login error', () => {
  it("adds the guest hint only for the 'guest' user on a host that is not this machine", () => {
    expect(loginError('amqp://guest:guest@rabbit.internal:5672')).toContain(HINT);
    expect(loginError('amqp://guest:guest@10.0.0.7:5672')).toContain(HINT);
    expect(loginError('amqp://rabbit.internal:5672')).toContain(HINT); // no user: amqplib logs in as guest
  });

  it('leaves the hint out for other users, and for guest on localhost', () => {
    for (const url of [
      'amqp://shop:pw@127.0.0.1:5672',
      'amqp://shop:pw@rabbit.internal:5672',
      'amqp://guest:wrong@127.0.0.1:5672',
      'amqp://guest:wrong@localhost:5672',
      'amqp://guest:wrong@[::1]:5672',
    ]) {
      const message = loginError(url);
      expect(message, url).toMatch(/refused the login of user '\w+': wrong user name or password$/);
      expect(message, url).not.toContain(HINT);
    }
  });
});
