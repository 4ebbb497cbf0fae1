/**
 * The operations endpoints' only contact with the network: a small HTTP server answering
 * `/healthz`, `/readyz` and `/metrics` from handlers that know nothing about sockets.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ErrorCode, UserError } from '../../core/errors.js';

/** One answer: status, content type and body. */
export interface OpsAnswer {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

/** What each endpoint answers. */
export interface OpsRoutes {
  readonly [path: string]: () => OpsAnswer | Promise<OpsAnswer>;
}

export interface OpsServer {
  /** `http://HOST:PORT`, with the port actually bound (for `--ops-port 0`). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` and answers GET and HEAD of the routes' paths (query strings ignored);
 * other paths get 404, other methods 405. Rejects with a one-line `UserError` when the address
 * cannot be bound (in use, not a local address).
 *
 * @example const server = await serveOps({ host: '127.0.0.1', port: 8081, routes: { '/healthz': () => ({ status: 200, type: 'text/plain', body: 'ok\n' }) } });
 */
export function serveOps(options: { readonly host: string; readonly port: number; readonly routes: OpsRoutes }): Promise<OpsServer> {
  const { routes } = options;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const route = routes[path];
    const send = (answer: OpsAnswer): void => {
      response.writeHead(answer.status, { 'content-type': answer.type, 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : answer.body);
    };
    if (route === undefined) return send({ status: 404, type: 'text/plain; charset=utf-8', body: `not found; try ${Object.keys(routes).join(', ')}\n` });
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send({ status: 405, type: 'text/plain; charset=utf-8', body: 'method not allowed\n' });
    }
    Promise.resolve()
      .then(route)
      .then(send, (err: unknown) => send({ status: 500, type: 'text/plain; charset=utf-8', body: `${err instanceof Error ? err.message : String(err)}\n` }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${options.host}:${options.port}`;
      const why = err.code === 'EADDRINUSE' ? 'the port is in use' : err.code === 'EADDRNOTAVAIL' ? 'not an address of this machine' : err.message;
      reject(new UserError(ErrorCode.BAD_OPTION, `cannot serve the operations endpoints on ${where} (--ops-host/--ops-port): ${why}`, { cause: err }));
    });
    server.listen(options.port, options.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : options.port;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      resolve({
        url: `http://${host}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // a scraper's keep-alive connection must not hold the shutdown back
            server.closeAllConnections();
          }),
      });
    });
  });
}
