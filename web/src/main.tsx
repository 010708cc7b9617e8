// Entry point: mounts the app. Nothing here touches keys or the network.
// First, before any module that parses: no eval under the page's policy (see noEval.ts).
import "./noEval";
import { render } from "solid-js/web";
import { App } from "./App";
import "./ui/styles.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
render(() => <App />, root);
