import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, SECRET_VARIABLES, configReference } from '../../../src/config/index.js';
import { buildProgram } from '../../../src/cli/main.js';

const README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('the configuration reference', () => {
  it('is in the README exactly as the variables table makes it', () => {
    expect(README).toContain(configReference());
  });

  it('lists every variable once, and the secrets as secrets', () => {
    const names = CONFIG_VARIABLES.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...SECRET_VARIABLES].sort()).toEqual(['SLUICE_INFLUXDB_PASSWORD', 'SLUICE_INFLUXDB_TOKEN', 'SLUICE_KAFKA_PASSWORD', 'SLUICE_OPENSEARCH_PASSWORD']);
    for (const name of SECRET_VARIABLES) expect(configReference()).toContain(`| \`${name}\` | secret: `);
  });

  it('is what `sluice start --help` prints', () => {
    const start = buildProgram({ report: () => undefined }).commands.find((c) => c.name() === 'start');
    expect(start).toBeDefined();
    let help = '';
    start?.configureOutput({ writeOut: (text) => void (help += text) });
    start?.outputHelp();
    for (const v of CONFIG_VARIABLES) expect(help).toContain(v.name);
  });
});
