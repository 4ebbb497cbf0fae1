// Process entry of the `sluice` command (started by bin/sluice with Sluice's V8 settings).
import { main } from './main.js';

// The AWS SDK warns once per process that this Node version nears its end of support; normal
// operation logs nothing, and the container image runs the current LTS. Set the variable to
// `false` to see the warning.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything Sluice opened is closed by now; a client library that still holds a handle (a
// Kafka client retrying a broker that went away) must not keep the process alive. Unref'd, so
// a normal exit is not delayed; the grace period lets buffered output to pipes drain.
setTimeout(() => process.exit(code), 2_000).unref();
