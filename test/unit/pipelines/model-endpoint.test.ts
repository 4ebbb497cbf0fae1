import { describe, expect, it } from 'vitest';
import { ErrorCode, UserError } from '../../../src/core/errors.js';
import { binaryPrediction, MODEL_ENDPOINT_URL_ENV, modelEndpoint, withPrediction } from '../../../src/pipelines/model-endpoint.js';

describe('modelEndpoint (where the built-in prediction pipelines call)', () => {
  it('is the address in SLUICE_MODEL_ENDPOINT_URL, or SageMaker itself when it is unset or empty', () => {
    expect(MODEL_ENDPOINT_URL_ENV).toBe('SLUICE_MODEL_ENDPOINT_URL');
    expect(modelEndpoint('telemetry-anomaly', { SLUICE_MODEL_ENDPOINT_URL: 'http://127.0.0.1:8080' })).toEqual({ name: 'telemetry-anomaly', url: 'http://127.0.0.1:8080' });
    expect(modelEndpoint('telemetry-anomaly', { SLUICE_MODEL_ENDPOINT_URL: ' https://runtime.sagemaker.eu-west-1.amazonaws.com/ ' })).toEqual({
      name: 'telemetry-anomaly',
      url: 'https://runtime.sagemaker.eu-west-1.amazonaws.com/',
    });
    expect(modelEndpoint('clickstream-purchase', {})).toEqual({ name: 'clickstream-purchase' });
    expect(modelEndpoint('clickstream-purchase', { SLUICE_MODEL_ENDPOINT_URL: '' })).toEqual({ name: 'clickstream-purchase' });
  });

  it.each(['127.0.0.1:8080', 'http://127.0.0.1:8080/endpoints', 'ftp://host', 'http://'])('refuses %s with an error naming the variable', (url) => {
    expect(() => modelEndpoint('telemetry-anomaly', { SLUICE_MODEL_ENDPOINT_URL: url })).toThrow(
      new UserError(ErrorCode.BAD_OPTION, `SLUICE_MODEL_ENDPOINT_URL '${url}' must be http(s)://HOST[:PORT], e.g. the address \`sluice dev model-server\` prints; unset it to call SageMaker itself`),
    );
  });
});

describe('binaryPrediction and withPrediction (a classifier answer on a result)', () => {
  it('read a Linear Learner answer as score and label', () => {
    expect(binaryPrediction({ score: 0.91, predicted_label: 1 })).toEqual({ score: 0.91, label: true });
    expect(binaryPrediction({ score: 0.02, predicted_label: 0 })).toEqual({ score: 0.02, label: false });
  });

  it.each([[0.91], [null], [{ score: '0.9', predicted_label: 1 }], [{ score: 0.9, predicted_label: 2 }], [{ score: Number.NaN, predicted_label: 1 }]])('turn %j into a reason', (answer) => {
    expect(binaryPrediction(answer)).toMatch(/^the endpoint answered .*, not \{ "score": …, "predicted_label": 0\|1 \}$/);
  });

  it('add both fields, or both null with the reason, after the result’s own fields', () => {
    const result = { id: 'w1', readings: 24 };
    expect(withPrediction(result, { score: 0.97, predicted_label: 1 }, undefined, 'anomalyScore', 'anomaly')).toEqual({ id: 'w1', readings: 24, anomalyScore: 0.97, anomaly: true });
    const failed = withPrediction(result, null, "SageMaker endpoint 'x' failed: ECONNREFUSED", 'anomalyScore', 'anomaly');
    expect(failed).toEqual({ id: 'w1', readings: 24, anomalyScore: null, anomaly: null, predictionError: "SageMaker endpoint 'x' failed: ECONNREFUSED" });
    expect(Object.keys(failed)).toEqual(['id', 'readings', 'anomalyScore', 'anomaly', 'predictionError']);
    expect(withPrediction(result, 'oops', undefined, 'p', 'l')).toEqual({ id: 'w1', readings: 24, p: null, l: null, predictionError: 'the endpoint answered "oops", not { "score": …, "predicted_label": 0|1 }' });
    // the input is left as it was
    expect(result).toEqual({ id: 'w1', readings: 24 });
  });
});
