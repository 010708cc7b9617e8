// One clear screen per thing that can go wrong, each saying what happened and what to do.
import { assertNever } from "../../../protocol/guards";
import type { Problem } from "../app/problems";
import { Logo } from "./Icons";

interface Explanation {
  title: string;
  what: string;
  todo: string;
}

function explain(problem: Problem): Explanation {
  switch (problem.kind) {
    case "invalid-link":
      return {
        title: "This invite link does not work",
        what: `The link is incomplete or damaged: ${problem.reason}.`,
        todo: "Ask the person who invited you to send the whole link again, and open it exactly as sent (everything after the # matters).",
      };
    case "room-full":
      return {
        title: "This call is full",
        what: "The call has reached the largest number of participants it allows.",
        todo: "Try again when someone has left, or start a new call.",
      };
    case "worker-unreachable":
      return {
        title: "Cannot reach the call server",
        what: "The signalling server did not answer, so the call cannot be set up.",
        todo: "Check your internet connection and try again in a moment.",
      };
    case "sfu-unreachable":
      return {
        title: "Cannot reach the media server",
        what: "The call was set up but the media server did not answer, so no audio or video can flow.",
        todo: "Check your connection (a firewall may block WebRTC) and try again.",
      };
    case "camera-denied":
      return {
        title: "Camera or microphone blocked",
        what: "This browser is not allowed to use your camera or microphone.",
        todo: "Allow camera and microphone for this site in the browser's address bar or settings, then try again. You can also join without them.",
      };
    case "unsupported-browser":
      return {
        title: "This browser cannot encrypt calls end to end",
        what: "It lacks encoded transforms (insertable streams), which encrypt each frame before it leaves your device. Hush never falls back to unencrypted media.",
        todo: "Open the link in a current Chrome, Edge, Firefox or Safari.",
      };
    case "duplicate":
      return {
        title: "You are already in this call",
        what: "This device is already connected to the call, in another tab or window.",
        todo: "Close the other tab, or use that one.",
      };
    case "declined":
      return {
        title: "The host did not let you in",
        what: "This call asks people to wait until the host or a co-host admits them, and they declined.",
        todo: "If you think this is a mistake, ask the person who invited you.",
      };
    case "removed":
      return {
        title: "You were removed from the call",
        what: "The host or a co-host took you out. Your keys for the call were dropped, and the others moved to keys you never had.",
        todo: "To come back you would have to ask to join again.",
      };
    case "disconnected":
      return {
        title: "The call was disconnected",
        what: problem.reason,
        todo: "Rejoin to continue. Your keys for the call were not kept.",
      };
    default:
      return assertNever(problem);
  }
}

export function ErrorScreen(props: {
  problem: Problem;
  onRetry?: (() => void) | undefined;
  onHome: () => void;
  onContinueWithoutDevices?: (() => void) | undefined;
}) {
  const text = () => explain(props.problem);
  return (
    // The alert sits inside the page's main landmark (a <main> cannot itself be an alert).
    <main class="screen">
      <div
        class="stack"
        role="alert"
        aria-labelledby="error-title"
        data-problem={props.problem.kind}
      >
        <div class="brand">
          <Logo /> Hush
        </div>
        <h1 id="error-title">{text().title}</h1>
        <p>{text().what}</p>
        <p class="notice">{text().todo}</p>
        <div class="row">
          {props.onRetry && (
            <button type="button" class="btn primary" onClick={() => props.onRetry?.()}>
              Try again
            </button>
          )}
          {props.onContinueWithoutDevices && (
            <button type="button" class="btn" onClick={() => props.onContinueWithoutDevices?.()}>
              Join without camera and microphone
            </button>
          )}
          <button type="button" class="btn" onClick={() => props.onHome()}>
            Start page
          </button>
        </div>
      </div>
    </main>
  );
}
