import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

// The rule that keeps network clients at the edges must bite where it should and only there.
const eslint = new ESLint({ cwd: process.cwd() });

async function restrictedImports(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint: network clients stay at the edges', () => {
  it.each([
    ["import { KinesisClient } from '@aws-sdk/client-kinesis';", 'AWS clients'],
    ["import { Kafka } from 'kafkajs';", 'Kafka and Kinesis clients'],
    ["import { Client } from '@opensearch-project/opensearch';", 'OpenSearch clients'],
    ["import { connect } from 'node:net';", 'Sockets'],
  ])('rejects %s in an operator', async (code, expected) => {
    const messages = await restrictedImports('src/operators/example.ts', `${code}\nexport const x = 1;\n`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(expected);
  });

  it('rejects AWS clients in the runtime and in a sink that is not its service file', async () => {
    const code = "import { FirehoseClient } from '@aws-sdk/client-firehose';\nexport const x = FirehoseClient;\n";
    expect(await restrictedImports('src/runtime/example.ts', code)).toHaveLength(1);
    expect(await restrictedImports('src/sinks/firehose/encoder.ts', code)).toHaveLength(1);
  });

  it.each(['src/sinks/firehose/service.ts', 'src/ingest/kinesis/service.ts', 'src/checkpoint/stores/dynamodb.ts', 'src/dev/kafka/service.ts', 'src/operators/predict/service.ts', 'src/runtime/ops/service.ts'])(
    'allows them in %s',
    async (path) => {
      const code = "import { KinesisClient } from '@aws-sdk/client-kinesis';\nexport const x = KinesisClient;\n";
      expect(await restrictedImports(path, code)).toEqual([]);
    },
  );
});
