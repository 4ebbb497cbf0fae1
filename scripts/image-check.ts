// `npm run image:check`: lints the Dockerfile (hadolint), checks its invariants, and runs the
// production tree the image holds (see deploy/image/check.ts). Exit 1 when anything is wrong.
import { imageCheck } from '../deploy/image/check.js';

const problems = await imageCheck();
console.log(problems.length === 0 ? 'image:check: all checks passed' : `image:check: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
process.exitCode = problems.length === 0 ? 0 : 1;
