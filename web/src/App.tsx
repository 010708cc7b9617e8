// Which screen to show: start, pre-join, the call, or an error. The call secret comes only from the
// URL fragment; the display name only from the person (remembered in this browser). This is the top
// of the app: it composes the screens (ui) over the state (app), so it sits above both.
import { createRoot, createSignal, Match, onCleanup, onMount, Switch } from "solid-js";
import { admissionFor } from "./app/admissionKeys";
import type { CallStore } from "./app/callStore";
import { createCallStore } from "./app/callStore";
import { openCoreSession } from "./app/coreSession";
import { type LinkState, readLink, startNewCall } from "./app/inviteLink";
import { createPreJoin, type PreJoin } from "./app/preJoin";
import type { Problem } from "./app/problems";
import {
  loadDisplayName,
  normalizeDisplayName,
  readPageOptions,
  saveDisplayName,
} from "./app/settings";
import { installTestControls, installTestHooks } from "./app/testHooks";
import { browserSupportsE2EE } from "./media/support";
import { CallScreen } from "./ui/CallScreen";
import { ErrorScreen } from "./ui/ErrorScreen";
import { LeftScreen } from "./ui/LeftScreen";
import { PreJoinScreen } from "./ui/PreJoinScreen";
import { StartScreen } from "./ui/StartScreen";

type Screen =
  | { kind: "start" }
  | { kind: "prejoin"; link: Extract<LinkState, { kind: "valid" }> }
  | { kind: "call"; link: Extract<LinkState, { kind: "valid" }>; store: CallStore }
  | { kind: "left"; link: Extract<LinkState, { kind: "valid" }> }
  | { kind: "error"; problem: Problem; link: LinkState };

export function App() {
  const options = readPageOptions(window.location.search);
  const [screen, setScreen] = createSignal<Screen>({ kind: "start" });
  const [joining, setJoining] = createSignal(false);

  function screenForLink(link: LinkState): Screen {
    switch (link.kind) {
      case "none":
        return { kind: "start" };
      case "invalid":
        return { kind: "error", problem: { kind: "invalid-link", reason: link.reason }, link };
      case "valid":
        if (!browserSupportsE2EE()) {
          return { kind: "error", problem: { kind: "unsupported-browser" }, link };
        }
        return { kind: "prejoin", link };
    }
  }

  function followLocation() {
    if (screen().kind === "call") return;
    setScreen(screenForLink(readLink(window.location)));
  }

  onMount(followLocation);
  window.addEventListener("hashchange", followLocation);
  onCleanup(() => window.removeEventListener("hashchange", followLocation));

  const currentStore = () => {
    const s = screen();
    return s.kind === "call" ? s.store : undefined;
  };
  installTestHooks(() => screen().kind, currentStore);
  if (options.testHooks) installTestControls(currentStore);

  function goHome() {
    history.replaceState(null, "", `${window.location.pathname}${window.location.search}`);
    setScreen({ kind: "start" });
  }

  async function join(
    link: Extract<LinkState, { kind: "valid" }>,
    preJoin: PreJoin,
    rawName: string,
  ) {
    const displayName = normalizeDisplayName(rawName);
    if (displayName === "" || joining()) return;
    saveDisplayName(displayName);
    setJoining(true);
    const tracks = await preJoin.takeTracks();
    // The store's computations live in their own root, disposed when the call ends.
    createRoot((dispose) => {
      const store = createCallStore({
        secret: link.secret,
        displayName,
        options,
        tracks,
        ...(link.hostKey ? { admission: admissionFor(link.secret, link.hostKey) } : {}),
        openSession: openCoreSession,
        onProblem: (problem) => {
          setScreen({ kind: "error", problem, link });
          dispose();
        },
        onLeft: () => {
          setScreen({ kind: "left", link });
          dispose();
        },
      });
      setJoining(false);
      setScreen({ kind: "call", link, store });
    });
  }

  return (
    <Switch>
      <Match when={screen().kind === "start"}>
        <StartScreen
          onNewCall={(askToJoin) => {
            if (!browserSupportsE2EE()) {
              setScreen({
                kind: "error",
                problem: { kind: "unsupported-browser" },
                link: { kind: "none" },
              });
              return;
            }
            setScreen(screenForLink(startNewCall(window.location, history, askToJoin)));
          }}
          onOpenLink={(text) => {
            const hash = text.includes("#") ? text.slice(text.indexOf("#")) : `#${text.trim()}`;
            history.replaceState(
              null,
              "",
              `${window.location.pathname}${window.location.search}${hash}`,
            );
            followLocation();
          }}
        />
      </Match>
      <Match when={asKind(screen(), "prejoin")}>
        {(s) => (
          <PreJoinRoute
            link={s().link}
            joining={joining()}
            onJoin={join}
            onHome={goHome}
            quality={options.video}
          />
        )}
      </Match>
      <Match when={asKind(screen(), "call")}>
        {(s) => <CallScreen store={s().store} inviteLink={s().link.link} />}
      </Match>
      <Match when={asKind(screen(), "left")}>
        {(s) => (
          <LeftScreen
            onRejoin={() => setScreen({ kind: "prejoin", link: s().link })}
            onHome={goHome}
          />
        )}
      </Match>
      <Match when={asKind(screen(), "error")}>
        {(s) => (
          <ErrorScreen
            problem={s().problem}
            onHome={goHome}
            onRetry={
              s().link.kind === "valid" && s().problem.kind !== "unsupported-browser"
                ? () => followLocation()
                : undefined
            }
          />
        )}
      </Match>
    </Switch>
  );
}

function asKind<K extends Screen["kind"]>(
  screen: Screen,
  kind: K,
): Extract<Screen, { kind: K }> | false {
  return screen.kind === kind ? (screen as Extract<Screen, { kind: K }>) : false;
}

/** Pre-join owns the preview tracks; a camera that is blocked gets its own screen. */
function PreJoinRoute(props: {
  link: Extract<LinkState, { kind: "valid" }>;
  joining: boolean;
  quality: "low" | "normal";
  onJoin: (
    link: Extract<LinkState, { kind: "valid" }>,
    preJoin: PreJoin,
    name: string,
  ) => Promise<void>;
  onHome: () => void;
}) {
  const preJoin = createPreJoin(props.quality);
  const [withoutDevices, setWithoutDevices] = createSignal(false);
  return (
    <Switch>
      <Match when={preJoin.problem() === "denied" && !withoutDevices()}>
        <ErrorScreen
          problem={{ kind: "camera-denied" }}
          onHome={props.onHome}
          onRetry={() => void preJoin.start()}
          onContinueWithoutDevices={() => setWithoutDevices(true)}
        />
      </Match>
      <Match when={true}>
        <PreJoinScreen
          preJoin={preJoin}
          inviteLink={props.link.link}
          initialName={loadDisplayName()}
          joining={props.joining}
          onJoin={(name) => void props.onJoin(props.link, preJoin, name)}
        />
      </Match>
    </Switch>
  );
}
