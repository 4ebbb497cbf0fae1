import { ErrorCode, UserError } from '../../core/errors.js';

/**
 * Options of the file sink.
 *
 * @example { path: 'out/results.jsonl', append: true }
 * @see fileSinkConfig
 */
export interface FileSinkOptions {
  /** The output file; missing parent directories are created. */
  readonly path: string;
  /** Add to an existing file instead of truncating it; default false. */
  readonly append?: boolean | undefined;
}

/**
 * Validated file sink options with defaults filled in.
 *
 * @see FileSinkOptions
 */
export interface FileSinkConfig {
  readonly path: string;
  readonly append: boolean;
}

/**
 * Checks file sink options and fills in defaults; throws `UserError(BAD_OPTION)` on bad values.
 *
 * @example fileSinkConfig({ path: 'out.jsonl' }) // { path: 'out.jsonl', append: false }
 * @see FileSinkOptions
 */
export function fileSinkConfig(options: FileSinkOptions): FileSinkConfig {
  if (typeof options.path !== 'string' || options.path.length === 0) {
    throw new UserError(ErrorCode.BAD_OPTION, 'file sink needs a path, e.g. file:out/results.jsonl');
  }
  return { path: options.path, append: options.append ?? false };
}
