// Docker Compose's variable interpolation (${VAR}, ${VAR:?message}, ${VAR:-default}, $$), enough to
// resolve infra/docker-compose.yml here without a Docker engine, so tests can start livekit-server
// with exactly the environment the compose file would give it.
// Reference: https://docs.docker.com/reference/compose-file/interpolation/

const PATTERN = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:\?|:-)([^}]*))?\}/g;

/** Every variable name the text refers to. */
export function composeVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(PATTERN)) if (match[1]) names.add(match[1]);
  return names;
}

/** Interpolates `text` with `vars`; a missing ${VAR:?message} throws like `docker compose` would. */
export function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(PATTERN, (whole, name?: string, operator?: string, argument?: string) => {
    if (whole === "$$") return "$";
    if (name === undefined) return whole;
    const value = vars[name];
    if (value !== undefined && value !== "") return value;
    if (operator === ":?") throw new Error(`required variable ${name} is missing: ${argument}`);
    if (operator === ":-") return argument ?? "";
    return "";
  });
}

/** Parses a .env file (KEY=value lines, # comments). */
export function parseDotEnv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const equals = trimmed.indexOf("=");
    if (equals <= 0) throw new Error(`not a KEY=value line: ${trimmed}`);
    vars[trimmed.slice(0, equals)] = trimmed.slice(equals + 1);
  }
  return vars;
}
