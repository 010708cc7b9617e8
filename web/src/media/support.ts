// Can this browser do end-to-end encrypted calls? livekit's E2EE needs encoded transforms
// (insertable streams or RTCRtpScriptTransform) to encrypt frames before they leave the browser;
// without them there is no honest way to join, so the app says so instead of falling back.
import { isE2EESupported } from "livekit-client";

export function browserSupportsE2EE(): boolean {
  return (
    typeof Worker !== "undefined" &&
    typeof RTCPeerConnection !== "undefined" &&
    typeof crypto?.subtle !== "undefined" &&
    isE2EESupported()
  );
}
