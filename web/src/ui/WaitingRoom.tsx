// An ask-to-join call before the host lets us in: who we are waiting for and what the others know
// of us (only the host and co-hosts read our name; nobody sees or hears us, and we get nothing).
import { Logo } from "./Icons";

export function WaitingRoom(props: { onLeave: () => void }) {
  return (
    <main class="screen stack waiting-room">
      <div class="brand">
        <Logo /> Hush
      </div>
      <h1>Waiting to be let in</h1>
      <p class="lead" role="status" aria-live="polite">
        The host of this call lets people in. They have been asked.
      </p>
      <p class="muted">
        Only the host and co-hosts can read the name you entered. Until one of them lets you in, you
        get no keys: you cannot see, hear or read the call, and nobody sees or hears you.
      </p>
      <div class="row">
        <button type="button" class="btn" onClick={() => props.onLeave()}>
          Leave
        </button>
      </div>
    </main>
  );
}
