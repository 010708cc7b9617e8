// The E2EE worker's decode pipelines by livekit track id, and the sender each one's frames are
// judged against (docs/media-keys.md, 5. The E2EE worker).
//
// livekit keeps one frame cryptor per track id and re-points it at whichever sender the newest
// `decode`, `updateCodec` or script transform for that id names (the SFU writes the track ids).
// It does so when its message queue reaches that message, and on every key change the queue is
// behind us (each setKey awaits a key derivation). Judged against the new sender while livekit
// still decrypts with the old one's keys, the SFU could get one sender's recorded frames accepted
// again as another's, or a leaver's frames under its retired key. So a re-point goes in two steps,
// like a key plan: at once the track's pipelines judge against nobody (every frame refused, waiting
// frames given up) and frames let through before but not yet back from livekit are refused when
// they come back; once livekit echoes the marker sent after the message, they judge against the new
// sender. A new pipeline judges against its sender at once: livekit reads its streams only after
// handling the message that made it, with the cryptor pointing at that sender.
import type { FrameGuard, GuardedFrame } from "./frameGuard";
import { FrameHold, type HoldBudget } from "./frameHold";
import type { GuardSides } from "./guardedTransform";

interface Pipeline {
  trackId: string;
  participantId: string | undefined;
  /** Bumped on every re-point: frames let through in an earlier generation are refused after. */
  generation: number;
  /** Gives up the frames waiting for a key (counted as refused). */
  giveUp(): void;
  /** Offers the frames waiting for a key to the guard again (after a commit). */
  retry(): void;
}

/** A video frame's "is a keyframe"; undefined for audio (RTCEncodedAudioFrame has no type). */
function keyframeOf(frame: GuardedFrame): boolean | undefined {
  const type = (frame as { type?: unknown }).type;
  return type === "key" ? true : type === "delta" ? false : undefined;
}

export class DecodePipelines {
  private readonly byTrack = new Map<string, Set<Pipeline>>();
  /** The generation each frame in livekit's hands was let through in. */
  private readonly admittedIn = new WeakMap<object, { pipeline: Pipeline; generation: number }>();
  /** Per track id, the newest re-point still waiting for livekit's echo. */
  private readonly repoints = new Map<string, { id: number; participantId: string }>();
  private nextRepoint = 1;
  private readonly budget: HoldBudget = { bytes: 0, frames: 0 };

  constructor(private readonly guard: FrameGuard) {}

  /** Whether a pipeline of `trackId` was ever opened (its id names a received track). */
  has(trackId: string): boolean {
    return this.byTrack.has(trackId);
  }

  /** The guard before and after livekit's decrypt of a new pipeline of `trackId`. */
  open(trackId: string, participantId: string): GuardSides {
    const hold = new FrameHold<GuardedFrame>(this.budget);
    const guard = this.guard;
    // Hands a frame on to livekit's decrypt (guardedTransform.ts), held frames included.
    let deliver: ((frame: GuardedFrame) => void) | undefined;
    const pipeline: Pipeline = {
      trackId,
      participantId,
      generation: 0,
      giveUp: () => guard.refuseWaited(pipeline.participantId, hold.take().length),
      retry: () => {
        for (const entry of hold.take()) offer(entry.frame, entry.at, entry.keyframe);
      },
    };
    const offer = (frame: GuardedFrame, at: number, keyframe: boolean | undefined) => {
      const verdict = guard.admit(pipeline.participantId, frame);
      if (verdict === "pass") {
        // Frames still waiting are older than this one: the decoder has moved past them.
        pipeline.giveUp();
        this.admittedIn.set(frame, { pipeline, generation: pipeline.generation });
        deliver?.(frame);
      } else if (verdict === "wait") {
        const gone =
          keyframe === undefined ? [frame] : hold.add({ frame, at, keyframe }, Date.now());
        guard.refuseWaited(pipeline.participantId, gone.length);
      }
    };
    const pipelines = this.byTrack.get(trackId) ?? new Set();
    pipelines.add(pipeline);
    this.byTrack.set(trackId, pipelines);
    return {
      before(frame, onward) {
        deliver = onward;
        offer(frame, Date.now(), keyframeOf(frame));
      },
      after: (frame) => {
        const admitted = this.admittedIn.get(frame);
        this.admittedIn.delete(frame);
        const current =
          admitted !== undefined && admitted.pipeline.generation === admitted.generation;
        return guard.afterDecrypt(frame, current);
      },
      closed: () => {
        pipeline.giveUp();
        this.byTrack.get(trackId)?.delete(pipeline);
      },
    };
  }

  /**
   * livekit is about to get a message naming `participantId` as the sender of `trackId`. Existing
   * pipelines of another sender judge against nobody from now on; returns the id of the marker to
   * send livekit after the message, or undefined when no pipeline changes sender.
   */
  repoint(trackId: string, participantId: string): number | undefined {
    let changed = false;
    for (const pipeline of this.byTrack.get(trackId) ?? []) {
      if (pipeline.participantId === participantId) continue;
      this.stop(pipeline);
      changed = true;
    }
    if (!changed) return undefined;
    const id = this.nextRepoint++;
    this.repoints.set(trackId, { id, participantId });
    return id;
  }

  /** livekit has handled the message before marker `id`; false for a marker that is not ours. */
  repointed(id: number): boolean {
    for (const [trackId, repoint] of this.repoints) {
      if (repoint.id !== id) continue;
      this.repoints.delete(trackId);
      for (const pipeline of this.byTrack.get(trackId) ?? []) {
        pipeline.participantId = repoint.participantId;
      }
      return true;
    }
    return id > 0 && id < this.nextRepoint;
  }

  /** livekit is told `participantId` no longer sends on `trackId`: its pipelines stop at once. */
  remove(trackId: string, participantId: string) {
    for (const pipeline of this.byTrack.get(trackId) ?? []) {
      if (pipeline.participantId === participantId) this.stop(pipeline);
    }
  }

  /** A plan was committed: frames waiting for a key are offered again. */
  retryAll() {
    for (const pipelines of this.byTrack.values()) {
      for (const pipeline of pipelines) pipeline.retry();
    }
  }

  private stop(pipeline: Pipeline) {
    pipeline.giveUp();
    pipeline.participantId = undefined;
    pipeline.generation += 1;
  }
}
