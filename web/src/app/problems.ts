// Everything that can stop a person from being in a call, as data the error screen renders.
export type Problem =
  | { kind: "invalid-link"; reason: string }
  | { kind: "room-full" }
  | { kind: "worker-unreachable" }
  | { kind: "sfu-unreachable" }
  | { kind: "camera-denied" }
  | { kind: "unsupported-browser" }
  | { kind: "duplicate" }
  | { kind: "disconnected"; reason: string };
