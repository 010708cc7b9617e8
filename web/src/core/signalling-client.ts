// A client of the signalling protocol (docs/protocol.md) for browsers and Node alike: the
// WebSocket constructor is injected (the global in browsers, the `ws` package in Node). It parses
// every server frame with the shared zod schemas, ignores message types it does not know (forward
// compatibility), and reconnects on its own with bounded exponential backoff after a dropped socket.
import {
  CLOSE_CODES,
  type ClientMessage,
  HEARTBEAT,
  type LiveKitGrant,
  type Member,
  PROTOCOL_VERSION,
  ServerMessage,
} from "../../../protocol/signalling.js";
import { assertNever } from "../../../protocol/guards.js";
import type { Clock, TimerHandle } from "./clock.js";

/** The part of the WebSocket API the client uses; satisfied by the browser global and by `ws`. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(
    type: "close",
    listener: (event: { code: number; reason: string }) => void,
  ): void;
  addEventListener(type: "error", listener: () => void): void;
}
export type SocketConstructor = new (url: string) => SocketLike;

const OPEN = 1;
/**
 * Heartbeat pings (docs/protocol.md, Heartbeat): the runtime answers them without waking the room,
 * and the room drops a member that sends neither a frame nor a ping for 45 s, so a frozen client's
 * seat is freed.
 */
const HEARTBEAT_INTERVAL_MS = 15_000;
const KNOWN_TYPES = new Set<string>(ServerMessage.options.map((option) => option.shape.type.value));

export type ConnectionStatus = "idle" | "connecting" | "joined" | "reconnecting" | "closed";

export interface ConnectionError {
  readonly code: string;
  readonly message: string;
}

export interface ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Consecutive failed attempts before giving up (status "closed" with an error). */
  readonly maxAttempts: number;
  /**
   * The same, before the first welcome, if set: someone who cannot reach the Worker at all should
   * get its error soon, while a member that was in the call keeps trying for as long as the room
   * may still hold its id.
   */
  readonly firstJoinMaxAttempts?: number;
  /**
   * An attempt that has no welcome this long after the socket was created is a failed attempt: a
   * server that accepts the socket and never answers must not keep the client waiting for ever.
   */
  readonly joinTimeoutMs: number;
}

export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 5_000,
  // 12 attempts, at most 5 s apart, outlast the room's 45 s liveness timeout: after a silent drop the
  // room frees our stale id (4409 until then) before the client gives up.
  maxAttempts: 12,
  joinTimeoutMs: 10_000,
};

type Welcome = Extract<ServerMessage, { type: "welcome" }>;
/** The payloads of one `send` frame, as the schema has them. */
type Unicasts = Extract<ClientMessage, { type: "send" }>["messages"];

export interface SignallingHandlers {
  /** Called on every (re)connection: a fresh join with a fresh announcement each time. */
  joinRequest(): { participantId: string; announcement: string };
  /** Returns false to refuse a welcome that breaks the protocol: it counts as a failed attempt. */
  welcome(welcome: Welcome): boolean;
  memberJoined(member: Member): void;
  memberLeft(participantId: string, seq: number): void;
  message(from: string, payload: string): void;
  broadcast(from: string, payload: string): void;
  token(grant: LiveKitGrant): void;
  /** A refused request that left the socket open (docs/protocol.md, Errors). */
  serverError(error: ConnectionError): void;
  status(status: ConnectionStatus, error?: ConnectionError): void;
  /** The socket of a joined session is gone: membership (and every key) is lost. */
  lost(): void;
}

/** Close codes after which retrying cannot help. */
const FATAL_CLOSE_CODES = new Set<number>([
  CLOSE_CODES.unsupported_version,
  CLOSE_CODES.persistent_abuse,
  CLOSE_CODES.room_full,
]);

export class SignallingClient {
  private socket: SocketLike | undefined;
  private status: ConnectionStatus = "idle";
  private everJoined = false;
  private attempts = 0;
  private retryTimer: TimerHandle | undefined;
  private joinTimer: TimerHandle | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private lastError: ConnectionError | undefined;

  constructor(
    private readonly url: string,
    private readonly WebSocketImpl: SocketConstructor,
    private readonly clock: Clock,
    private readonly handlers: SignallingHandlers,
    private readonly policy: ReconnectPolicy = DEFAULT_RECONNECT_POLICY,
  ) {}

  get connectionStatus(): ConnectionStatus {
    return this.status;
  }

  connect(): void {
    if (this.status !== "idle") return;
    this.open();
  }

  /** Unicast payloads, one frame for all of them (a rekey sends n-2 at once). */
  send(messages: Unicasts): boolean {
    if (messages.length === 0) return true;
    return this.write({ type: "send", messages });
  }

  broadcast(payload: string): boolean {
    return this.write({ type: "broadcast", payload });
  }

  requestToken(): boolean {
    return this.write({ type: "token" });
  }

  /** Leaves for good: no reconnection afterwards. */
  leave(): void {
    if (this.status === "closed") return;
    this.write({ type: "leave" });
    this.shutDown(undefined);
  }

  /** Drops the socket as if the network failed (tests and the simulator use it). */
  dropSocket(): void {
    this.socket?.close(4000, "dropped");
  }

  /** Sends a frame of the schema's client messages, only on the joined socket. */
  private write(message: ClientMessage): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN || this.status !== "joined") return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  private setStatus(status: ConnectionStatus, error?: ConnectionError): void {
    this.status = status;
    this.handlers.status(status, error);
  }

  private open(): void {
    const status = this.everJoined ? "reconnecting" : "connecting";
    // After a failed attempt the status (with its error) is already set; do not repeat it.
    if (this.status !== status) this.setStatus(status);
    let socket: SocketLike;
    try {
      socket = new this.WebSocketImpl(this.url);
    } catch {
      this.shutDown({
        code: "bad_url",
        message: "could not open a WebSocket to the signalling URL",
      });
      return;
    }
    this.socket = socket;
    this.joinTimer = this.clock.setTimeout(() => {
      this.joinTimer = undefined;
      if (this.socket !== socket || this.status === "joined") return;
      this.lastError = { code: "join_timeout", message: "the room did not answer the join" };
      this.socket = undefined;
      socket.close(4000, "join timed out");
      this.onClose(4000);
    }, this.policy.joinTimeoutMs);
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      const join = this.handlers.joinRequest();
      const frame: ClientMessage = { type: "join", v: PROTOCOL_VERSION, ...join };
      socket.send(JSON.stringify(frame));
      this.heartbeat(socket);
    });
    socket.addEventListener("message", (event) => {
      if (this.socket === socket) this.receive(event.data);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket === socket) this.onClose(event.code);
    });
    socket.addEventListener("error", () => {
      // A "close" event always follows; that is where recovery happens.
    });
  }

  /** Pings while `socket` is this client's open socket; stops by itself once it is not. */
  private heartbeat(socket: SocketLike): void {
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      if (this.socket !== socket || socket.readyState !== OPEN) return;
      socket.send(HEARTBEAT.ping);
      this.heartbeat(socket);
    }, HEARTBEAT_INTERVAL_MS);
  }

  private receive(data: unknown): void {
    if (typeof data !== "string") return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return;
    }
    const type =
      typeof json === "object" && json !== null && "type" in json ? json.type : undefined;
    if (typeof type !== "string" || !KNOWN_TYPES.has(type)) return; // forward compatibility
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) return;
    try {
      this.dispatch(parsed.data);
    } catch {
      // A handler's failure is the handler's (it keeps its own counters); the socket stays usable.
    }
  }

  private dispatch(message: ServerMessage): void {
    switch (message.type) {
      case "welcome":
        if (this.status === "joined") return; // one welcome per socket
        this.clearJoinTimer();
        this.status = "joined";
        if (!this.handlers.welcome(message)) {
          this.status = this.everJoined ? "reconnecting" : "connecting";
          this.lastError = {
            code: "bad_welcome",
            message: "the room's welcome broke the protocol",
          };
          const socket = this.socket;
          this.socket = undefined;
          socket?.close(4000, "bad welcome");
          this.onClose(4000);
          return;
        }
        this.everJoined = true;
        this.attempts = 0;
        this.lastError = undefined;
        this.setStatus("joined");
        break;
      case "member-joined":
        this.handlers.memberJoined(message.member);
        break;
      case "member-left":
        this.handlers.memberLeft(message.participantId, message.seq);
        break;
      case "message":
        this.handlers.message(message.from, message.payload);
        break;
      case "broadcast":
        this.handlers.broadcast(message.from, message.payload);
        break;
      case "token":
        this.handlers.token(message.livekit);
        break;
      case "error":
        this.lastError = { code: message.code, message: message.message };
        this.handlers.serverError(this.lastError);
        break;
      default:
        assertNever(message);
    }
  }

  private clearJoinTimer(): void {
    if (this.joinTimer !== undefined) this.clock.clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
  }

  /** A socket's timers end with it: nothing keeps running (or a Node process alive) after. */
  private clearSocketTimers(): void {
    this.clearJoinTimer();
    if (this.heartbeatTimer !== undefined) this.clock.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private onClose(code: number): void {
    this.clearSocketTimers();
    const wasJoined = this.status === "joined";
    this.socket = undefined;
    if (wasJoined) this.handlers.lost();
    const error = this.lastError ?? { code: "connection_lost", message: `socket closed (${code})` };
    // A duplicate id on the first join is another tab or device of the same user: do not fight it.
    // After a drop it is our own stale socket the room has not noticed yet, so retrying helps.
    const duplicateOnFirstJoin = code === CLOSE_CODES.duplicate_participant && !this.everJoined;
    if (FATAL_CLOSE_CODES.has(code) || duplicateOnFirstJoin) {
      this.shutDown(error);
      return;
    }
    const limit = this.everJoined
      ? this.policy.maxAttempts
      : (this.policy.firstJoinMaxAttempts ?? this.policy.maxAttempts);
    if (this.attempts >= limit) {
      this.shutDown({ code: "gave_up", message: `no connection after ${this.attempts} attempts` });
      return;
    }
    const delay = Math.min(
      this.policy.maxDelayMs,
      this.policy.initialDelayMs * 2 ** Math.min(this.attempts, 20),
    );
    this.attempts += 1;
    this.setStatus(this.everJoined ? "reconnecting" : "connecting", error);
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.status !== "closed") this.open();
    }, delay);
  }

  private shutDown(error: ConnectionError | undefined): void {
    this.clearSocketTimers();
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    const wasJoined = this.status === "joined";
    this.socket = undefined;
    if (socket && socket.readyState <= OPEN) socket.close(1000, "leave");
    if (wasJoined) this.handlers.lost();
    this.setStatus("closed", error);
  }
}
