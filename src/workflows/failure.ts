import { LonghaulError } from '../errors.js';
import { type FailureInfo } from './messages.js';

/** The recordable form of an error. */
export function toFailure(error: unknown): FailureInfo {
  if (error instanceof Error) {
    const code = error instanceof LonghaulError ? error.code : undefined;
    return {
      name: error.name,
      message: error.message,
      ...(code ? { code } : {}),
      stack: error.stack?.slice(0, 8192),
    };
  }
  return { name: 'Error', message: String(error) };
}
