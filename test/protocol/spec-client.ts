// A minimal signalling client written only from docs/protocol.md (it deliberately imports nothing
// from worker/), so that the conformance tests check the wire, not a shared implementation. It uses
// the `ws` package because Node 20 has no global WebSocket.
import WebSocket from "ws";
import { randomId } from "../support/ids";
import { Waiting } from "../support/waiting";

const WAIT_MS = 15_000;

/** Opaque bytes as unpadded base64url. */
export function bytes(text: string): string {
  return Buffer.from(text).toString("base64url");
}

export type Json = Record<string, unknown>;

export class SpecClient {
  readonly participantId = randomId();
  private readonly inbox: Json[] = [];
  private closedWith: { code: number; reason: string } | null = null;
  private readonly waiting = new Waiting();

  private constructor(private readonly socket: WebSocket) {
    socket.on("message", (data, isBinary) => {
      if (isBinary) throw new Error("the server must send JSON text frames");
      const parsed: unknown = JSON.parse(data.toString("utf8"));
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("the server must send JSON objects");
      this.inbox.push(parsed as Json);
      this.waiting.wake();
    });
    socket.on("close", (code, reason) => {
      this.closedWith = { code, reason: reason.toString("utf8") };
      this.waiting.wake();
    });
  }

  /** `headers` lets a test speak for a given client (e.g. its address, as the platform would). */
  static connect(url: string, headers?: Record<string, string>): Promise<SpecClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const timer = setTimeout(() => reject(new Error(`no connection to ${url}`)), WAIT_MS);
      socket.once("open", () => {
        clearTimeout(timer);
        resolve(new SpecClient(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Connects, joins and returns the welcome. */
  static async join(
    url: string,
    announcement = bytes("announcement"),
    headers?: Record<string, string>,
    participantId?: string,
  ) {
    const client = await SpecClient.connect(url, headers);
    client.send({
      type: "join",
      v: 1,
      participantId: participantId ?? client.participantId,
      announcement,
    });
    const welcome = await client.next("welcome");
    return { client, welcome };
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  sendBinary(data: Uint8Array): void {
    this.socket.send(data, { binary: true });
  }

  private waitFor(what: string, ready: () => boolean, ms = WAIT_MS): Promise<void> {
    return this.waiting.until(what, ready, ms);
  }

  /** The next server message; it must have the given type when one is given. */
  async next(type?: string): Promise<Json> {
    await this.waitFor(
      type ?? "a message",
      () => this.inbox.length > 0 || this.closedWith !== null,
    );
    const message = this.inbox.shift();
    if (message === undefined)
      throw new Error(`closed (${this.closedWith?.code}) while waiting for ${type ?? "a message"}`);
    if (type !== undefined && message.type !== type)
      throw new Error(`expected ${type}, got ${JSON.stringify(message).slice(0, 300)}`);
    return message;
  }

  /** The next message must be an error with this code and a human-readable message. */
  async error(code: string): Promise<Json> {
    const message = await this.next("error");
    if (message.code !== code || typeof message.message !== "string" || message.message === "")
      throw new Error(`expected error ${code}, got ${JSON.stringify(message)}`);
    return message;
  }

  async closed(ms = WAIT_MS): Promise<{ code: number; reason: string }> {
    await this.waitFor("close", () => this.closedWith !== null, ms);
    return this.closedWith as { code: number; reason: string };
  }

  close(): void {
    this.socket.close(1000, "bye");
  }

  terminate(): void {
    this.socket.terminate();
  }

  /** Stops reading from the TCP connection, as a frozen or hostile peer would; `resume` undoes it. */
  stopReading(): void {
    (this.socket as unknown as { _socket?: { pause(): void } })._socket?.pause();
  }

  resume(): void {
    (this.socket as unknown as { _socket?: { resume(): void } })._socket?.resume();
  }

  get isClosed(): boolean {
    return this.closedWith !== null;
  }

  /** Messages received and not yet taken. */
  pending(): number {
    return this.inbox.length;
  }
}
