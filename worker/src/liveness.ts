// When a socket must have shown life by, as pure functions the alarm applies: a socket that has not
// joined by its join deadline, and a member that has sent neither a frame nor a heartbeat ping for
// the heartbeat timeout, are overdue. The ping's time comes from the runtime (it answers pings
// itself, without waking the object), the last frame's time from the socket's rate-limit bucket, so
// both survive hibernation.
import type { RoomConfig } from "./room-config";
import type { SocketState } from "./socket-state";

type Overdue = "join_timeout" | "heartbeat_timeout";

/** The time (ms since the epoch) by which the socket must show life next; null when closed. */
export function dueAt(
  socket: SocketState,
  lastPingAt: number | null,
  config: Pick<RoomConfig, "joinDeadlineMs" | "heartbeatTimeoutMs">,
): number | null {
  switch (socket.phase) {
    case "pending":
      return (socket.since ?? socket.bucket.at) + config.joinDeadlineMs;
    case "joined":
      return Math.max(socket.bucket.at, lastPingAt ?? 0) + config.heartbeatTimeoutMs;
    case "closed":
      return null;
  }
}

export function overdue(
  socket: SocketState,
  lastPingAt: number | null,
  config: Pick<RoomConfig, "joinDeadlineMs" | "heartbeatTimeoutMs">,
  now: number,
): Overdue | null {
  const due = dueAt(socket, lastPingAt, config);
  if (due === null || now < due) return null;
  return socket.phase === "pending" ? "join_timeout" : "heartbeat_timeout";
}
