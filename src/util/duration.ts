import { ConfigurationError } from '../errors.js';

/** A duration: milliseconds as a number (`Infinity` for never), or a string such as `'250ms'`, `'15m'`, `'3d'`, `'1h30m'`. */
export type Duration = number | string;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Converts a {@link Duration} to milliseconds.
 * @param field - the option name to report when the value is invalid.
 */
export function toMillis(duration: Duration, field = 'duration'): number {
  if (typeof duration === 'number') {
    if (Number.isNaN(duration) || duration < 0) {
      throw new ConfigurationError(field, `expected a non-negative number of milliseconds, got ${duration}`);
    }
    return duration;
  }
  const text = duration.trim();
  const part = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(text)) !== null) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new ConfigurationError(
      field,
      `cannot read duration '${duration}' (use e.g. 500ms, 30s, 15m, 2h, 3d)`,
    );
  }
  return total;
}
