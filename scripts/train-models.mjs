#!/usr/bin/env node
// Regenerates the local SageMaker endpoint's models, src/dev/model-server/models/*.json, from the
// data generator's labelled events (seeded: the same files byte for byte on every run). Prints
// each model's held-out precision, recall and AUC. Usage: node scripts/train-models.mjs [NAME…]
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { PLANS, trainModel } = await import('../src/dev/model-server/train.ts');
const { modelFile } = await import('../src/dev/model-server/models.ts');

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !PLANS.some((plan) => plan.name === name));
if (unknown.length > 0) {
  console.error(`train-models: no model named ${unknown.join(', ')}; models: ${PLANS.map((plan) => plan.name).join(', ')}`);
  process.exit(2);
}
for (const plan of PLANS) {
  if (wanted.length > 0 && !wanted.includes(plan.name)) continue;
  const model = trainModel(plan);
  const file = modelFile(plan.name);
  writeFileSync(file, JSON.stringify(model, null, 2) + '\n');
  const { precision, recall, auc, examples, positives } = model.evaluation;
  console.log(`${plan.name}: held-out precision ${precision}, recall ${recall}, AUC ${auc} (${examples} examples, ${positives} positive) → ${file.slice(root.length + 1)}`);
}
