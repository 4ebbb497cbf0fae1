#!/usr/bin/env node
// Regenerates samples/clickstream.jsonl.gz, the bundled demo input: 30 minutes of page views
// from a seeded generator (byte-identical on every run), with events up to 3 s out of order.
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(20261122);
const pages = ['/', '/search', '/product/42', '/product/7', '/cart', '/checkout', '/help', '/account'];
const weights = [30, 20, 15, 12, 9, 5, 5, 4];
const total = weights.reduce((a, b) => a + b, 0);
const pick = () => {
  let r = random() * total;
  for (let i = 0; i < pages.length; i++) if ((r -= weights[i]) < 0) return pages[i];
  return pages[0];
};

const start = Date.UTC(2026, 10, 1, 12, 0, 0);
const lines = [];
let t = start;
for (let i = 0; i < 6000; i++) {
  t += Math.floor(random() * 600);
  const jitter = random() < 0.1 ? Math.floor(random() * 3000) : 0;
  const event = {
    ts: new Date(t - jitter).toISOString(),
    userId: `u${Math.floor(random() * 400)}`,
    page: pick(),
    dwellMs: Math.round(200 + random() * random() * 30000),
  };
  lines.push(JSON.stringify(event));
}
writeFileSync(new URL('../samples/clickstream.jsonl.gz', import.meta.url), gzipSync(lines.join('\n') + '\n', { level: 9, mtime: 0 }));
process.stderr.write(`wrote ${lines.length} events\n`);
