// What the call's banner says while it is not connected. A media-server reconnect keeps our keys
// (livekit resumes with the key ring the core gave it); a signalling reconnect makes us a new
// member that sends nothing until it holds a key of its new membership, so the two say different
// things and the banner never promises keys a rejoin does not keep.
import type { CallConnection } from "../app/sessionPort";

/** The banner while the call is not connected: what is being restored, and what it means. */
export function bannerText(
  connection: CallConnection,
  restoring: { media: boolean; call: boolean },
): string {
  if (connection === "closed") return "Disconnected.";
  if (connection !== "reconnecting") return "Connecting…";
  if (restoring.media && restoring.call)
    return "Connection lost. Reconnecting to the media server and rejoining the call…";
  if (restoring.call)
    return "Rejoining the call… You send nothing until the call gives you a new key.";
  return "Reconnecting to the media server… Your keys are kept; media resumes when it answers.";
}
