/**
 * Opens a sink for a run: resolves with it once its service answered, or releases its client and
 * rejects with the open's one-line error, so a failed start-up leaves nothing open.
 *
 * @example export const openFirehoseSink = async (endpoint, options) => openOrRelease(firehoseSink(endpoint, options));
 */
export async function openOrRelease<S extends { open(): Promise<void>; close(): Promise<void> }>(sink: S): Promise<S> {
  try {
    await sink.open();
  } catch (err) {
    await sink.close();
    throw err;
  }
  return sink;
}
