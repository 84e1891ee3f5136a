/**
 * Message versions on decode: a body that arrives with an older version (the `longhaul.version`
 * header; none means 1) goes through its type's upcasters, one version at a time, before it
 * becomes an instance of the class. Wherever a message waited (queue, outbox, timeout store, error
 * queue) it is decoded by the codec when it is consumed, so this is the one place it happens.
 */
import { DecodeError } from '../errors.js';
import { Headers } from './envelope.js';
import { type MessageType } from './registry.js';

/** The version of a message's body from its headers: absent means 1. */
export function versionOf(headers: Readonly<Record<string, string>>): number {
  const raw = headers[Headers.version];
  if (raw === undefined || raw === '1') return 1;
  const version = Number(raw);
  if (!/^[0-9]{1,9}$/.test(raw) || !Number.isInteger(version) || version < 1) {
    throw new DecodeError(
      'unsupported-version',
      `The '${Headers.version}' header is '${raw}', not a version`,
    );
  }
  return version;
}

/** Brings `body` (of version `from`) to the type's current version, or throws a {@link DecodeError}. */
export function upcastBody(
  type: MessageType,
  body: object,
  from: number,
  arrival: { type: string; messageId: string; sentAt: Date; headers: Readonly<Record<string, string>> },
): object {
  const current = type.version ?? 1;
  if (from > current) {
    throw new DecodeError(
      'unsupported-version',
      `'${type.name}' version ${from} is newer than this code's version ${current}: deploy the code that knows it, then replay the message from the error queue`,
    );
  }
  let value = body;
  for (let version = from; version < current; version++) {
    const upcaster = type.upcast?.[version];
    if (!upcaster) {
      throw new DecodeError(
        'unsupported-version',
        `'${type.name}' version ${from} cannot be read: no upcaster from version ${version} (add upcast: { ${version}: (old) => ... } to ${type.ctor.name})`,
      );
    }
    let next: unknown;
    try {
      next = upcaster(value, { ...arrival, version });
    } catch (error) {
      throw new DecodeError(
        'upcast-failed',
        `The upcaster of '${type.name}' from version ${version} threw: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      throw new DecodeError(
        'upcast-failed',
        `The upcaster of '${type.name}' from version ${version} returned ${Array.isArray(next) ? 'an array' : typeof next}, not an object`,
      );
    }
    value = next;
  }
  return value;
}
