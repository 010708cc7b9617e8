// Everything that can stop a person from being in a call, as data the error screen renders.
export type Problem =
  | { kind: "invalid-link"; reason: string }
  | { kind: "room-full" }
  | { kind: "worker-unreachable" }
  | { kind: "sfu-unreachable" }
  | { kind: "camera-denied" }
  | { kind: "unsupported-browser" }
  | { kind: "duplicate" }
  /** Ask-to-join calls: the host or a co-host turned us away, or took us out. */
  | { kind: "declined" }
  | { kind: "removed" }
  | { kind: "disconnected"; reason: string };
