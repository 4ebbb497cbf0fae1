/**
 * The predict operator's only calls to SageMaker: `InvokeEndpoint` through
 * `@aws-sdk/client-sagemaker-runtime`, behind a narrow interface so the rest of the operator
 * (and its unit tests) needs no network. Errors are the SDK's own, unchanged, for `retry.ts` to
 * classify; the SDK's own retries are off, so that every attempt goes through the operator's
 * concurrency limit, breaker and counters.
 */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { awsClientConfig } from '../../aws/client.js';
import type { EndpointOptions } from './config.js';

/**
 * One InvokeEndpoint request.
 *
 * @see PredictionService
 */
export interface InvokeRequest {
  readonly endpointName: string;
  readonly contentType: string;
  readonly accept: string;
  readonly body: string;
}

/** An InvokeEndpoint answer: the model's bytes and their MIME type. */
export interface InvokeResponse {
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
}

/**
 * What the operator needs from an endpoint. Implementations reject with the service's error
 * (its `name` says which: ThrottlingException, ModelError…) and stop when `signal` aborts.
 *
 * @example const service: PredictionService = sageMakerService({ name: 'telemetry-anomaly', url: 'http://127.0.0.1:8080' })
 * @see sageMakerService
 */
export interface PredictionService {
  invoke(request: InvokeRequest, signal: AbortSignal): Promise<InvokeResponse>;
}

/**
 * A SageMaker Runtime client for `endpoint`. A loopback `url` (Sluice's local model server) gets
 * us-east-1 and dummy credentials unless told otherwise; elsewhere the SDK resolves region and
 * credentials as usual (environment, profile, container role).
 *
 * @example await sageMakerService({ name: 'x' }).invoke({ endpointName: 'x', contentType: 'text/csv', accept: 'text/csv', body: '1,2\n' }, signal)
 * @see PredictionService
 */
export function sageMakerService(endpoint: EndpointOptions): PredictionService {
  // no request timeout here: the operator's timeout policy aborts each call itself (`signal`)
  const config = awsClientConfig({ endpointUrl: endpoint.url, region: endpoint.region, credentials: endpoint.credentials });
  let client: SageMakerRuntimeClient | undefined;
  return {
    async invoke(request, signal) {
      // made on first use: a pipeline that is only defined (validated, listed) opens nothing
      client ??= new SageMakerRuntimeClient(config);
      const out = await client.send(
        new InvokeEndpointCommand({ EndpointName: request.endpointName, ContentType: request.contentType, Accept: request.accept, Body: request.body }),
        { abortSignal: signal },
      );
      return { body: out.Body ?? new Uint8Array(), contentType: out.ContentType };
    },
  };
}
