// The typed client-node APIs, sending every request through one KubeTransport
// (pool, rate limit, retries, typed errors) instead of client-node's
// connection-per-request fetch. Authentication is the transport's job, so
// client-node's own auth (which builds a new TLS agent per call) is not used.
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  BatchV1Api,
  CoreV1Api,
  createConfiguration,
  ResponseContext,
  ServerConfiguration,
  wrapHttpLibrary,
  type RequestContext,
} from '@kubernetes/client-node';
import { resolveConnection, type ConnectOptions, type Connection } from './connection.ts';
import { KubeTransport, type TransportOptions } from './transport.ts';

export interface KubeClientOptions extends ConnectOptions {
  readonly transport?: TransportOptions;
}

export class KubeClient {
  readonly connection: Connection;
  readonly transport: KubeTransport;
  readonly batch: BatchV1Api;
  readonly core: CoreV1Api;
  readonly authorization: AuthorizationV1Api;
  readonly authentication: AuthenticationV1Api;

  /** Resolves the connection (kubeconfig or in-cluster) and opens nothing yet. */
  static connect(options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(resolveConnection(options), options.transport);
  }

  constructor(connection: Connection, transportOptions: TransportOptions = {}) {
    this.connection = connection;
    this.transport = new KubeTransport(connection, transportOptions);
    const transport = this.transport;
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(connection.server.replace(/\/$/, ''), {}),
      authMethods: {},
      httpApi: wrapHttpLibrary({
        async send(ctx: RequestContext): Promise<ResponseContext> {
          const body = ctx.getBody();
          const signal = ctx.getSignal();
          const res = await transport.request({
            method: ctx.getHttpMethod(),
            url: ctx.getUrl(),
            headers: ctx.getHeaders(),
            ...(typeof body === 'string' ? { body } : {}),
            ...(signal !== undefined ? { signal } : {}),
          });
          return new ResponseContext(res.status, res.headers, {
            text: () => Promise.resolve(res.body.toString('utf8')),
            binary: () => Promise.resolve(res.body),
            stream: () => null,
          });
        },
      }),
    });
    this.batch = new BatchV1Api(configuration);
    this.core = new CoreV1Api(configuration);
    this.authorization = new AuthorizationV1Api(configuration);
    this.authentication = new AuthenticationV1Api(configuration);
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  /** Closes the connection pool. Open watches and log streams end. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
