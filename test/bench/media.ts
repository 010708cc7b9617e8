// Placeholder until the media harness lands: reports honestly that nothing was measured.
import type { MediaResult } from "./results";

export interface MediaOptions {
  quick: boolean;
  log: (line: string) => void;
}

export async function runMediaBench(_opts: MediaOptions): Promise<MediaResult> {
  return { measured: false, reason: "the media benchmark is not implemented yet" };
}
