// The room's members as the object keeps them in memory between events: participant id → member and
// socket, in seq order, and the next seq. Reading every socket's attachment on every event made each
// event cost as much as the number of sockets; the roster is instead rebuilt once, from the
// attachments and the stored counter, when a fresh instance (after eviction or hibernation) handles
// its first event, and then kept up to date by the events themselves.
import type { Member } from "../../protocol/signalling";
import type { RoomView } from "./room";
import { readSocketState } from "./socket-state";

export class Roster {
  private readonly members = new Map<string, Member>();
  private readonly sockets = new Map<string, WebSocket>();
  nextSeq: number;

  private constructor(nextSeq: number) {
    this.nextSeq = nextSeq;
  }

  /** From the hibernated sockets' attachments; a second socket claiming an id is ignored. */
  static rebuild(sockets: readonly WebSocket[], nextSeq: number): Roster {
    const found: { member: Member; ws: WebSocket }[] = [];
    const seen = new Set<string>();
    for (const ws of sockets) {
      const state = readSocketState(ws.deserializeAttachment());
      if (state?.phase !== "joined" || seen.has(state.participantId)) continue;
      seen.add(state.participantId);
      found.push({
        member: {
          participantId: state.participantId,
          seq: state.seq,
          announcement: state.announcement,
        },
        ws,
      });
    }
    const roster = new Roster(nextSeq);
    for (const { member, ws } of found.sort((a, b) => a.member.seq - b.member.seq))
      roster.admit(member, ws);
    return roster;
  }

  /** What the pure rules see; the map is live, so take a view per event and do not keep it. */
  view(): RoomView {
    return { members: this.members, nextSeq: this.nextSeq };
  }

  /** Members join with the next seq, so appending keeps the map in seq order. */
  admit(member: Member, ws: WebSocket): void {
    this.members.set(member.participantId, member);
    this.sockets.set(member.participantId, ws);
  }

  remove(participantId: string): void {
    this.members.delete(participantId);
    this.sockets.delete(participantId);
  }

  socketOf(participantId: string): WebSocket | undefined {
    return this.sockets.get(participantId);
  }

  get size(): number {
    return this.members.size;
  }
}
