// A test client for the Worker inside workerd: opens a real WebSocket through the Worker's fetch
// handler and queues what arrives, so tests read server messages one at a time, in order, with a
// bounded wait. Every server frame is parsed with the protocol's own schema.
import { exports } from "cloudflare:workers";
import {
  type ServerMessage,
  ServerMessage as ServerMessageSchema,
} from "../../protocol/signalling";
import { opaque, randomId } from "../support/ids";
import { Waiting } from "../support/waiting";

const WAIT_MS = 10_000;

/** A made-up client address (documentation and private ranges only). */
export function randomAddress(): string {
  const [a = 0, b = 0, c = 0] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

export interface Closed {
  code: number;
  reason: string;
}

export class TestClient {
  private readonly inbox: ServerMessage[] = [];
  private readonly waiting = new Waiting();
  private closedWith: Closed | null = null;
  readonly participantId = randomId();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") throw new Error("server sent a binary frame");
      this.inbox.push(ServerMessageSchema.parse(JSON.parse(event.data)));
      this.waiting.wake();
    });
    socket.addEventListener("close", (event) => {
      this.closedWith = { code: event.code, reason: event.reason };
      this.waiting.wake();
    });
  }

  /**
   * Every socket comes from its own client address unless `address` names one, so that only the
   * tests of the per-client limit run into it (the platform sets this header in production).
   */
  static async connect(roomId: string, address = randomAddress()): Promise<TestClient> {
    const response = await exports.default.fetch(`http://hush.test/v1/rooms/${roomId}/ws`, {
      headers: { Upgrade: "websocket", "CF-Connecting-IP": address },
    });
    const socket = response.webSocket;
    if (response.status !== 101 || socket === null)
      throw new Error(`upgrade refused: ${response.status} ${await response.text()}`);
    socket.accept();
    return new TestClient(socket);
  }

  /** Connects and joins; returns the client and its welcome. */
  static async join(roomId: string, announcement = opaque(32)) {
    const client = await TestClient.connect(roomId);
    client.send({ type: "join", v: 1, participantId: client.participantId, announcement });
    const welcome = await client.next("welcome");
    return { client, welcome };
  }

  send(frame: unknown): void {
    this.socket.send(
      typeof frame === "string" || frame instanceof ArrayBuffer ? frame : JSON.stringify(frame),
    );
  }

  sendRaw(frame: string | ArrayBuffer | ArrayBufferView): void {
    this.socket.send(frame);
  }

  private waitFor(what: string, ready: () => boolean, ms = WAIT_MS): Promise<void> {
    return this.waiting.until(what, ready, ms);
  }

  /** The next message; fails if it is not of `type` (when given) or none comes. */
  async next<T extends ServerMessage["type"]>(
    type?: T,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    await this.waitFor(
      `a ${type ?? "server"} message`,
      () => this.inbox.length > 0 || this.closedWith !== null,
    );
    const message = this.inbox.shift();
    if (message === undefined)
      throw new Error(
        `socket closed (${this.closedWith?.code}) while waiting for ${type ?? "a message"}`,
      );
    if (type !== undefined && message.type !== type)
      throw new Error(`expected ${type}, got ${JSON.stringify(message).slice(0, 300)}`);
    return message as Extract<ServerMessage, { type: T }>;
  }

  /** The next `error` message, checked for its code. */
  async nextError(code: string): Promise<string> {
    const message = await this.next("error");
    if (message.code !== code)
      throw new Error(`expected error ${code}, got ${message.code}: ${message.message}`);
    return message.message;
  }

  /** Waits for the server to close the socket; messages still queued stay readable. */
  async closed(ms = WAIT_MS): Promise<Closed> {
    await this.waitFor("the socket to close", () => this.closedWith !== null, ms);
    return this.closedWith as Closed;
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  pending(): number {
    return this.inbox.length;
  }

  close(code = 1000, reason = "done"): void {
    try {
      this.socket.close(code, reason);
    } catch {
      // Already closed.
    }
  }
}

/** Three members A, B, C joined in that order, each having seen the joins after its own. */
export async function roomOfThree(): Promise<{
  roomId: string;
  a: TestClient;
  b: TestClient;
  c: TestClient;
}> {
  const roomId = randomId();
  const { client: a } = await TestClient.join(roomId);
  const { client: b } = await TestClient.join(roomId);
  const { client: c } = await TestClient.join(roomId);
  await a.next("member-joined");
  await a.next("member-joined");
  await b.next("member-joined");
  return { roomId, a, b, c };
}
