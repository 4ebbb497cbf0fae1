// Process entry of the `sluice` command (started by bin/sluice with Sluice's V8 settings).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
