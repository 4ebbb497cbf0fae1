import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const sinkModule = pathToFileURL(resolve('src/sinks/stdout/index.ts')).href;

// The real thing: `sluice … | head -n 1` closes the pipe under a process that keeps writing.
describe('stdout sink over a real pipe', () => {
  it('lets the process stop quietly when the reader goes away', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-epipe-'));
    try {
      const script = join(dir, 'writer.mts');
      await writeFile(
        script,
        `import { stdoutSink } from ${JSON.stringify(sinkModule)};
const sink = stdoutSink();
const batch = Array.from({ length: 1000 }, (_, i) => ({ i, pad: 'x'.repeat(50) }));
let batches = 0;
while (!sink.closedEarly && batches < 100000) { await sink.write(batch); batches++; }
await sink.close();
process.stderr.write(sink.closedEarly ? 'stopped early\\n' : 'never stopped\\n');
`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      const [first] = (await once(child.stdout, 'data')) as [Buffer];
      expect(first.toString('utf8')).toMatch(/^\{"i":0,/);
      child.stdout.destroy();
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(stderr).toBe('stopped early\n');
      expect(code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
