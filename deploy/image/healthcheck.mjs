#!/usr/bin/env node
// The container health check (Docker HEALTHCHECK and the ECS task definition's healthCheck):
// exit 0 when Sluice's operations server answers 200 on /healthz, 1 otherwise. Plain Node, no
// curl in the slim image. It asks the address the server listens on, or loopback when that is
// every interface.
/* global fetch, AbortSignal */
const port = Number(process.env.SLUICE_OPS_PORT || 8081);
const listen = (process.env.SLUICE_OPS_HOST || '0.0.0.0').trim();
const host = listen === '0.0.0.0' || listen === '' ? '127.0.0.1' : listen === '::' || listen === '[::]' ? '[::1]' : listen.includes(':') && !listen.startsWith('[') ? `[${listen}]` : listen;
try {
  const response = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(4_000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
