// Once per chaos run: build the web app into web/dist (as the browser suite does). The servers are
// each file's own (servers.ts): the tests kill and restart them.
import { buildWebIfStale } from "../e2e/globalSetup";

export default async function setup() {
  await buildWebIfStale();
}
