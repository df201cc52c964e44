/**
 * Starts one service in-process for a test: a listener type + a handler on 127.0.0.1:0.
 * @module
 */
import type { Logger } from "../../core/log.ts";
import { nopLogger } from "../../core/log.ts";
import { Metadata, type MetadataRecord } from "../../core/metadata.ts";
import type {
  Authenticator,
  Handler,
  HandlerCredentials,
  HandlerOptions,
  Listener,
  ListenerOptions,
} from "../../core/contracts.ts";
import { StaticAuthenticator } from "../../core/routing/auth.ts";
import type { NodeGroup } from "../../core/routing/node_group.ts";
import { DefaultRouter } from "../../core/routing/router.ts";
import { Service } from "../../core/service/service.ts";
import { Stats } from "../../core/service/stats.ts";
import { TcpListener } from "../../listeners/tcp/listener.ts";
import { UdpListener } from "../../listeners/udp/listener.ts";

/** What {@link startService} takes. */
export interface TestServiceOptions {
  handler: (opts: HandlerOptions) => Handler | Promise<Handler>;
  listener?: "tcp" | "udp";
  /** Makes the listener instead (a registered type: `reg.listeners.mustGet("http2")`); `listener` is then unused. */
  listenerFactory?: (opts: ListenerOptions) => Listener | Promise<Listener>;
  metadata?: MetadataRecord;
  listenerMetadata?: MetadataRecord;
  users?: { username: string; password: string }[];
  /** An authenticator of the test's own (instead of `users`). */
  auth?: Authenticator;
  /** The service's one user and password as configured (Shadowsocks: method and password). */
  credentials?: HandlerCredentials;
  forwarder?: NodeGroup;
  stats?: boolean;
  logger?: Logger;
  addr?: string;
}

/** A started service and its port. */
export interface TestService {
  service: Service;
  port: number;
  addr: string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Builds, initialises and serves a service; `await using` closes it. */
export async function startService(o: TestServiceOptions): Promise<TestService> {
  const logger = o.logger ?? nopLogger;
  const router = new DefaultRouter({ logger });
  const addr = o.addr ?? "127.0.0.1:0";
  const lopts = { addr, logger, service: "test", router };
  const listener: Listener = o.listenerFactory
    ? await o.listenerFactory(lopts)
    : o.listener === "udp"
    ? new UdpListener(lopts)
    : new TcpListener(lopts);
  await listener.init(new Metadata(o.listenerMetadata ?? o.metadata ?? {}));
  const handler = await o.handler({
    service: "test",
    logger,
    router,
    auth: o.auth ?? (o.users ? new StaticAuthenticator(o.users) : undefined),
    credentials: o.credentials,
    forwarder: o.forwarder,
  });
  await handler.init(new Metadata(o.metadata ?? {}));
  const service = new Service({ name: "test", listener, handler, logger, stats: o.stats ? new Stats() : undefined });
  service.serve().catch(() => {});
  const port = (listener.addr as Deno.NetAddr).port;
  const close = () => service.close();
  return { service, port, addr: `127.0.0.1:${port}`, close, [Symbol.asyncDispose]: close };
}
