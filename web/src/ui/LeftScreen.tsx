// After leaving: the keys of the call are gone from this page; rejoining starts fresh.
import { Logo } from "./Icons";

export function LeftScreen(props: { onRejoin: () => void; onHome: () => void }) {
  return (
    <main class="screen stack">
      <div class="brand">
        <Logo /> Hush
      </div>
      <h1>You left the call</h1>
      <p class="lead">This page no longer holds any key of the call.</p>
      <div class="row">
        <button type="button" class="btn primary" onClick={() => props.onRejoin()}>
          Rejoin
        </button>
        <button type="button" class="btn" onClick={() => props.onHome()}>
          Start page
        </button>
      </div>
    </main>
  );
}
