/**
 * Plain-word causes for file system errors, shared by the file source and the file sink so
 * that both print `cannot read 'x': permission denied` rather than `EACCES: ..., open 'x'`.
 */
const CAUSES: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  // A path component is a regular file, so the file cannot exist either.
  ENOTDIR: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'input/output error',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EPIPE: 'broken pipe',
};

/**
 * The cause of a file system error in plain words, without the path or errno decoration.
 *
 * @example describeFsError(Object.assign(new Error('EACCES: ...'), { code: 'EACCES' })) // 'permission denied'
 * @see errorCode
 */
export function describeFsError(err: unknown): string {
  const code = errorCode(err);
  const cause = code === undefined ? undefined : CAUSES[code];
  if (cause !== undefined) return cause;
  // Unknown errors keep Node's text, minus the "CODE: " prefix, so the message stays one line.
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^[A-Z_]+: /, '').split('\n', 1)[0] ?? message;
}

/**
 * The `code` property of a Node error (`ENOENT`, `Z_DATA_ERROR`, ...), if any.
 *
 * @example errorCode(new Error('x')) // undefined
 * @see describeFsError
 */
export function errorCode(err: unknown): string | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
