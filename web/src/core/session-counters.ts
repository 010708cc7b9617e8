// The counters behind CallSession.metrics(). One object, created by the session and shared with
// the verified roster and the key transport, which count what they refuse and send; the session
// counts the rest and hands out copies.
import { createCurveOps } from "./curve-ops.js";

export function createSessionCounters() {
  return {
    curveOps: createCurveOps(),
    envelopesSent: {
      "key-fresh": 0,
      "key-ratchet-join": 0,
      "key-current": 0,
      ack: 0,
      "key-request": 0,
    },
    broadcastsSent: { ratchet: 0, commit: 0 },
    envelopesRejected: 0,
    broadcastsRejected: 0,
    broadcastsIgnored: 0,
    announcementsRejected: 0,
    announcementsReplayed: 0,
    hellosSent: 0,
    hellosRejected: 0,
    livenessTimeouts: 0,
    welcomesRefused: 0,
    inboundOverflows: 0,
    scheduleErrors: 0,
    chat: {
      sent: 0,
      received: 0,
      rejected: 0,
      replayed: 0,
      undecryptable: 0,
      beforeJoin: 0,
      missing: 0,
    },
  };
}

export type SessionCounters = ReturnType<typeof createSessionCounters>;
