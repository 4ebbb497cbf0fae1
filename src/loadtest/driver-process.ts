// Entry of the load driver's own process (forked by driver-handle.ts): opens the producer when
// told to connect, drives the plan when told to start, reports through IPC, and exits when done.
import { drive, driverError, warmUp, type DriverMessage, type DriverPlan } from './driver.js';
import { openKinesisLoadProducer, openLoadProducer, type LoadProducer } from './service.js';
import { parseTarget } from './target.js';

/** Messages to the driver process. */
type Command =
  | { readonly type: 'connect'; readonly target: string; readonly plan: DriverPlan; readonly aggregate: boolean }
  | { readonly type: 'warm-up' }
  | { readonly type: 'start'; readonly startAt: number }
  | { readonly type: 'stop' };

const send = (message: DriverMessage): void => {
  process.send?.(message);
};

let producer: LoadProducer | undefined;
let plan: DriverPlan | undefined;
const stop = new AbortController();

async function finish(code: number): Promise<void> {
  await producer?.close();
  process.disconnect?.();
  process.exitCode = code;
}

process.on('message', (command: Command) => {
  void (async () => {
    try {
      if (command.type === 'connect') {
        plan = command.plan;
        // parsed again here, with the secrets of this process's environment
        const target = parseTarget(command.target, process.env);
        producer = target.kind === 'kafka' ? await openLoadProducer(target.endpoint) : await openKinesisLoadProducer(target.endpoint, { aggregate: command.aggregate });
        send({ type: 'ready', partitions: producer.partitions });
      } else if (command.type === 'warm-up') {
        if (producer === undefined || plan === undefined) throw new Error('warming up before connecting');
        await warmUp(plan, producer);
        send({ type: 'warmed' });
      } else if (command.type === 'start') {
        if (producer === undefined || plan === undefined) throw new Error('started before connecting');
        await drive({ plan, producer, startAt: command.startAt, emit: send, signal: stop.signal });
        send({ type: 'done' });
        await finish(0);
      } else {
        stop.abort();
      }
    } catch (err) {
      send(driverError(err));
      await finish(1);
    }
  })();
});
// the parent went away: nothing to report to
process.on('disconnect', () => {
  stop.abort();
  void producer?.close();
});
