/** The logging port. Pass your own (pino, winston…) through the endpoint options. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
/** The least severe level a {@link consoleLogger} prints. */
export type LogLevel = (typeof LEVELS)[number];

/** A logger that writes one line per entry to stderr, at `level` and above. */
export function consoleLogger(level: LogLevel = 'info'): Logger {
  const min = LEVELS.indexOf(level);
  const write =
    (at: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(at) < min) return;
      const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      process.stderr.write(`${new Date().toISOString()} ${at.toUpperCase()} longhaul: ${message}${extra}\n`);
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** A logger that drops everything. */
export const silentLogger: Logger = consoleLogger('silent');
