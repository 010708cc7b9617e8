// The first screen: start a new call, or open an invite link someone sent.
import { createSignal } from "solid-js";
import { Logo } from "./Icons";

export function StartScreen(props: {
  onNewCall: (askToJoin: boolean) => void;
  onOpenLink: (link: string) => void;
}) {
  const [link, setLink] = createSignal("");
  const [askToJoin, setAskToJoin] = createSignal(false);
  return (
    <main class="screen stack">
      <div class="brand">
        <Logo /> Hush
      </div>
      <h1>End-to-end encrypted group calls</h1>
      <p class="lead">
        Audio and video are encrypted in your browser with keys that only the people in the call
        hold. The servers relay ciphertext and never see your name.
      </p>
      <section class="card stack" aria-labelledby="new-call">
        <h2 id="new-call">Start a call</h2>
        <p class="muted">
          A new call gets a fresh secret. You will get an invite link to share with the people you
          want to talk to.
        </p>
        <label class="check">
          <input
            type="checkbox"
            checked={askToJoin()}
            onChange={(event) => setAskToJoin(event.currentTarget.checked)}
            aria-describedby="ask-to-join-help"
          />
          Ask to join: I let people in
        </label>
        <p id="ask-to-join-help" class="muted">
          People with the link wait until you admit them, and you can remove anyone. Only keys
          enforce it: no server can let someone in or bring back someone you removed.
        </p>
        <div class="row">
          <button type="button" class="btn primary" onClick={() => props.onNewCall(askToJoin())}>
            New call
          </button>
        </div>
      </section>
      <form
        class="card stack"
        aria-labelledby="join-call"
        onSubmit={(event) => {
          event.preventDefault();
          props.onOpenLink(link());
        }}
      >
        <h2 id="join-call">Join with a link</h2>
        <label>
          Invite link
          <input
            type="text"
            value={link()}
            onInput={(event) => setLink(event.currentTarget.value)}
            placeholder="Paste the link you were sent"
            autocomplete="off"
          />
        </label>
        <div class="row">
          <button type="submit" class="btn" disabled={link().trim() === ""}>
            Open link
          </button>
        </div>
      </form>
    </main>
  );
}
