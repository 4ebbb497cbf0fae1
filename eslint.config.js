// Lint rules. One is architectural: network clients stay at the edges. Only a connector's
// service file (src/ingest/<name>/service.ts, src/sinks/<name>/service.ts), a local peer's
// (src/dev/<name>/service.ts) and the checkpoint stores may import AWS SDK clients, Kafka or
// OpenSearch clients, or open sockets themselves, so the rest of Sluice is testable without a
// network and every remote call has one home.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export const NETWORK_CLIENTS = {
  patterns: [
    { group: ['@aws-sdk/*', '@smithy/*'], message: 'AWS clients belong in a connector service.ts or a checkpoint store.' },
    { group: ['kafkajs', '@platformatic/kafka', 'aws-kcl', 'aws-msk-iam-sasl-signer-js'], message: 'Kafka and Kinesis clients belong in a connector service.ts.' },
    { group: ['@opensearch-project/*'], message: 'OpenSearch clients belong in a connector service.ts.' },
  ],
  paths: [
    { name: 'node:net', message: 'Sockets belong in a connector service.ts.' },
    { name: 'node:tls', message: 'Sockets belong in a connector service.ts.' },
    { name: 'node:http2', message: 'Network calls belong in a connector service.ts.' },
  ],
};

export const NETWORK_EDGES = ['src/ingest/*/service.ts', 'src/ingest/*/*/service.ts', 'src/sinks/*/service.ts', 'src/checkpoint/stores/**/*.ts', 'src/dev/*/service.ts', 'src/operators/*/service.ts', 'src/kafka/service.ts', 'src/runtime/*/service.ts'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', TextDecoder: 'readonly', performance: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  // types carry no sockets: `import type` from a client library is fine anywhere
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': ['error', { ...NETWORK_CLIENTS, patterns: NETWORK_CLIENTS.patterns.map((p) => ({ ...p, allowTypeImports: true })) }] } },
  { files: NETWORK_EDGES, rules: { 'no-restricted-imports': 'off' } },
  { files: ['scripts/**', 'bench/**', 'bin/**', 'test/**'], rules: { 'no-console': 'off' } },
);
