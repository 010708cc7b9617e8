// The WebSocket a test hands the signalling client (SocketLike, web/src/core/signalling-client.ts)
// instead of a real one: listeners by event type and a readyState the test moves. What happens to
// what the client sends, and who closes, is the subclass's job (the simulator's relay, a scripted
// server), so every fake socket in the tests shares this one event plumbing.
import type { SocketLike } from "../../web/src/core/signalling-client.js";

/** WebSocket.readyState values, as the client checks them. */
export const SOCKET_STATE = { connecting: 0, open: 1, closing: 2, closed: 3 } as const;

type Listener = (event: never) => void;

export abstract class FakeSocket implements SocketLike {
  readyState: number = SOCKET_STATE.connecting;
  private readonly listeners = new Map<string, Listener[]>();

  abstract send(data: string): void;
  abstract close(code?: number, reason?: string): void;

  /** Typed by the interface (its overloads, one per event), stored per event type. */
  addEventListener: SocketLike["addEventListener"] = (type: string, listener: Listener) => {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  };

  /** Fires an event at every listener of its type, as the browser's event loop would. */
  dispatch(type: "open" | "message" | "close" | "error", event: unknown): void {
    for (const listener of this.listeners.get(type) ?? [])
      (listener as (e: unknown) => void)(event);
  }
}
