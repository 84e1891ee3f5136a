/** Output helpers shared by the `longhaul` commands: tables, one-line cells, JSON, times. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { type CliIo, UsageError } from './io.js';

/** A cell cut to `width` characters on one line. */
export function oneLine(text: string | undefined, width: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** A left-aligned table with a header row. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** Prints a value as indented JSON (dates as ISO 8601). */
export function printJson(io: CliIo, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** A time as ISO 8601 without milliseconds, or '' when absent. */
export function time(date: Date | undefined): string {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

/** A `--<option>` date (ISO 8601), or an error naming it. */
export function dateOption(value: string | undefined, option: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--${option} must be an ISO 8601 time, got '${value}'`);
  return date;
}

/** A `--<option>` JSON value, or an error naming it. */
export function jsonOption(value: string | undefined, option: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new UsageError(`--${option} must be JSON: ${(error as Error).message}`);
  }
}

/** A positive integer `--<option>`, or `fallback`. */
export function intOption(value: string | undefined, option: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${option} must be an integer of at least ${min}, got '${value}'`);
  }
  return n;
}

/**
 * Parses one subcommand's arguments: only `allowed` options, exactly `arity` positionals (a
 * number, or [min, max]); `--help` prints `help`. Resolves `undefined` when help was printed.
 */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  name: string,
  args: readonly string[],
  options: O,
  allowed: readonly string[],
  arity: number | readonly [number, number],
  help: string,
  io: CliIo,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } | undefined {
  const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const positionals = parsed.positionals;
  if (values.help) {
    io.out(help);
    return undefined;
  }
  const extra = Object.keys(values).filter((key) => !allowed.includes(key));
  if (extra.length > 0) throw new UsageError(`'${name}' takes no --${extra.join(', --')}.\n\n${help}`);
  const [min, max] = typeof arity === 'number' ? [arity, arity] : arity;
  if (positionals.length < min || positionals.length > max) {
    const wanted = min === max ? `${min}` : `${min} to ${max}`;
    throw new UsageError(`'${name}' takes ${wanted} argument(s), got ${positionals.length}.\n\n${help}`);
  }
  return { values, positionals };
}
