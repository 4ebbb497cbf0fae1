import { formatDuration } from '../core/duration.js';

export interface ShutdownOptions {
  /** Aborted on the first SIGTERM/SIGINT: the run stops reading, finishes and checkpoints. */
  readonly stop: AbortController;
  /** How long a graceful stop may take before the process gives up. */
  readonly deadlineMs: number;
  readonly report: (line: string) => void;
  readonly exit: (code: number) => never;
}

/**
 * Installs Sluice's signal handling: the first SIGTERM or SIGINT starts a graceful stop and
 * arms the deadline (ECS sends SIGKILL after the task's stopTimeout); a second signal, or the
 * deadline passing, exits at once. Returns the function that removes the handlers.
 */
export function handleShutdownSignals(options: ShutdownOptions): () => void {
  let deadline: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (options.stop.signal.aborted) {
      options.report(`sluice: second ${signal}, exiting now`);
      options.exit(signal === 'SIGINT' ? 130 : 143);
    }
    options.stop.abort();
    deadline = setTimeout(() => {
      options.report(`sluice: could not finish and checkpoint within --shutdown-timeout ${formatDuration(options.deadlineMs)}; exiting without a final checkpoint`);
      options.exit(1);
    }, options.deadlineMs);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clearTimeout(deadline);
  };
}
