import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { ModelServer } from '../../../src/dev/model-server/index.js';
import type { EndpointOptions } from '../../../src/operators/predict.js';

/** Any credentials will do: the local endpoint wants a signed request, not a valid signature. */
export const CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-secret' } as const;

/** The real SDK client, pointed at the local endpoint, without the SDK's own retries. */
export function sdkClient(server: ModelServer): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient({ endpoint: server.url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
}

/** How predict reaches endpoint `name` of the local server. */
export function endpointOf(server: ModelServer, name: string): EndpointOptions {
  return { name, url: server.url, region: 'us-east-1', credentials: CREDENTIALS };
}

/**
 * Waits until `condition` holds, polling; fails (rather than hangs) after `polls` tries. The
 * waits are for I/O to happen, never measured: tests assert what happened, not when.
 */
export async function eventually(condition: () => boolean, what: string, polls = 2000): Promise<void> {
  for (let i = 0; i < polls; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never happened: ${what}`);
}
