// The deployment files in infra/ and sfu-config/ are checked with what runs here (no Docker engine,
// no cluster): they parse, refer only to files that exist and to settings livekit-server knows, and
// the real livekit-server starts from the very config file they mount, with the environment they
// give it (only ports and addresses moved to free loopback ones).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { AccessToken, RoomServiceClient } from "livekit-server-sdk";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { z } from "zod";
import {
  freeUdpPort,
  LIVEKIT_BIN,
  LIVEKIT_VERSION,
  REPO_ROOT,
  type RunningLiveKit,
  startLiveKit,
} from "../support/livekit";
import { freePort } from "../support/ports";
import { type RunningRedis, startRedis } from "../support/redis";
import { composeVariables, interpolate, parseDotEnv } from "./compose-env";

const INFRA = join(REPO_ROOT, "infra");
const COMPOSE_FILE = join(INFRA, "docker-compose.yml");
const PRODUCTION_CONFIG = join(REPO_ROOT, "sfu-config", "livekit.production.yaml");
const PINNED_IMAGE = `livekit/livekit-server:v${LIVEKIT_VERSION}`;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

async function redisWithPassword(password: string): Promise<RunningRedis> {
  const redis = await startRedis({ password });
  cleanups.push(() => redis.stop());
  return redis;
}

async function live(opts: Parameters<typeof startLiveKit>[0]): Promise<RunningLiveKit> {
  const server = await startLiveKit(opts);
  cleanups.push(() => server.stop());
  return server;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => join(dir, name));
}

/** Environment variables livekit-server reads, as its own help lists them ([$NAME]). */
function knownLiveKitEnv(): Set<string> {
  const help = execFileSync(LIVEKIT_BIN, ["help-verbose"], { encoding: "utf8" });
  return new Set([...help.matchAll(/\[\$([A-Z0-9_]+)/g)].map((m) => m[1] ?? ""));
}

const ComposeService = z.object({
  image: z.string(),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  volumes: z.array(z.string()).default([]),
  environment: z.record(z.string(), z.string()).default({}),
});
const Compose = z.object({
  services: z.record(z.string(), ComposeService),
  volumes: z.record(z.string(), z.unknown().nullable()).default({}),
});

/** The compose file with variables taken from infra/.env.example plus `overrides`. */
function loadCompose(overrides: Record<string, string> = {}) {
  const example = parseDotEnv(readFileSync(join(INFRA, ".env.example"), "utf8"));
  const text = interpolate(readFileSync(COMPOSE_FILE, "utf8"), { ...example, ...overrides });
  return Compose.parse(parseYaml(text));
}

/** host path → container path of a service's bind mounts (named volumes have no host path). */
function bindMounts(volumes: string[]): Array<{ host: string; container: string }> {
  return volumes
    .map((spec) => spec.split(":"))
    .filter(([source]) => source?.startsWith(".") || source?.startsWith("/"))
    .map(([source, target]) => ({ host: resolve(INFRA, source ?? ""), container: target ?? "" }));
}

describe("infra files", () => {
  it("every YAML file in infra/ and sfu-config/ parses", () => {
    const files = [...yamlFiles(INFRA), ...yamlFiles(join(REPO_ROOT, "sfu-config"))];
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const documents = parseAllDocuments(readFileSync(file, "utf8"));
      const list = Array.isArray(documents) ? documents : [documents];
      for (const document of list) expect(document.errors, file).toEqual([]);
    }
  });

  it("compose pins the same livekit-server, mounts only files that exist, and documents every variable", () => {
    const compose = loadCompose();
    expect(Object.keys(compose.services).sort()).toEqual(["caddy", "livekit", "redis"]);
    expect(compose.services.livekit?.image).toBe(PINNED_IMAGE);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mount of bindMounts(service.volumes)) {
        expect(() => readFileSync(mount.host), `${name} mounts ${mount.host}`).not.toThrow();
      }
      for (const spec of service.volumes) {
        const source = spec.split(":")[0] ?? "";
        if (!source.startsWith(".") && !source.startsWith("/")) {
          expect(compose.volumes, `${name} uses volume ${source}`).toHaveProperty(source);
        }
      }
    }
    const example = parseDotEnv(readFileSync(join(INFRA, ".env.example"), "utf8"));
    const used = composeVariables(readFileSync(COMPOSE_FILE, "utf8"));
    for (const name of used)
      expect(example, `infra/.env.example sets ${name}`).toHaveProperty(name);
    // And a missing variable is refused, as docker compose would.
    expect(() => loadCompose({ LIVEKIT_API_SECRET: "" })).toThrow(/LIVEKIT_API_SECRET/);
  });

  it("the Caddyfile proxies the SFU domain to the port the production config listens on", () => {
    const caddyfile = readFileSync(join(INFRA, "Caddyfile"), "utf8");
    const config = z
      .object({ port: z.number() })
      .parse(parseYaml(readFileSync(PRODUCTION_CONFIG, "utf8")));
    expect(caddyfile).toContain("{$SFU_DOMAIN} {");
    expect(caddyfile).toContain(`reverse_proxy 127.0.0.1:${config.port}`);
    const caddy = loadCompose().services.caddy;
    for (const placeholder of caddyfile.matchAll(/\{\$([A-Z_]+)\}/g)) {
      expect(caddy?.environment, `caddy gets ${placeholder[1]}`).toHaveProperty(
        placeholder[1] ?? "",
      );
    }
  });

  it("livekit-server starts from the very config and environment the compose file gives it", async () => {
    // A self-signed certificate where Caddy would keep the TURN certificate.
    const scratch = mkdtempSync(join(tmpdir(), "hush-compose-"));
    cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
    const redisPassword = "composetest0123456789";
    const compose = loadCompose({ NODE_IP: "127.0.0.1", REDIS_PASSWORD: redisPassword });
    const livekit = compose.services.livekit;
    if (!livekit) throw new Error("no livekit service");

    // Map container paths to host paths the way the compose volumes do.
    const mounts = [
      ...bindMounts(livekit.volumes),
      { host: join(scratch, "caddy-data"), container: "/caddy-data" },
    ];
    const toHost = (path: string) => {
      const mount = mounts.find((m) => path === m.container || path.startsWith(`${m.container}/`));
      return mount ? mount.host + path.slice(mount.container.length) : path;
    };
    const command = Array.isArray(livekit.command) ? livekit.command : [];
    const configArg = command[command.indexOf("--config") + 1];
    expect(configArg, "compose passes --config").toBeDefined();
    const configFile = toHost(configArg ?? "");
    expect(configFile).toBe(PRODUCTION_CONFIG);

    const env = Object.fromEntries(
      Object.entries(livekit.environment).map(([k, v]) => [k, k.endsWith("_FILE") ? toHost(v) : v]),
    );
    const certFile = env.LIVEKIT_TURN_CERT_FILE ?? "";
    const keyFile = env.LIVEKIT_TURN_KEY_FILE ?? "";
    mkdirSync(dirname(certFile), { recursive: true });
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
        ...[
          "-keyout",
          keyFile,
          "-out",
          certFile,
          "-days",
          "1",
          "-subj",
          `/CN=${env.LIVEKIT_TURN_DOMAIN}`,
        ],
      ],
      { stdio: "ignore" },
    );

    // The compose LIVEKIT_KEYS string must be in livekit-server's "key: secret" form.
    const keysMatch = /^([^:\s]+): (\S{32,})$/.exec(env.LIVEKIT_KEYS ?? "");
    expect(keysMatch, "LIVEKIT_KEYS is 'key: secret' with a 32+ character secret").not.toBeNull();
    const keys = { apiKey: keysMatch?.[1] ?? "", apiSecret: keysMatch?.[2] ?? "" };

    const redis = await redisWithPassword(redisPassword);
    const server = await live({
      configFile,
      env,
      keys,
      // The one Redis address of the config is the host's 127.0.0.1:6379; here it is a free port.
      redis,
      args: [
        ...["--turn.tls_port", String(await freePort())],
        ...["--turn.udp_port", String(await freeUdpPort())],
      ],
    });
    // It answers the API with the compose keys, i.e. it really runs that configuration.
    const service = new RoomServiceClient(server.httpUrl, keys.apiKey, keys.apiSecret);
    await expect(service.listRooms()).resolves.toEqual([]);
  });

  it("livekit-server's strict config check is what accepted it: a misspelt key is refused", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "hush-badconfig-"));
    cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
    const bad = join(scratch, "livekit.yaml");
    writeFileSync(bad, `${readFileSync(PRODUCTION_CONFIG, "utf8")}\nroom_typo: true\n`);
    await expect(startLiveKit({ configFile: bad })).rejects.toThrow(/field room_typo not found/);
  });

  it("the production limits admit Hush's 22-character ids and refuse longer ones", async () => {
    const redis = await redisWithPassword("limits0123456789abcdef");
    const server = await live({
      configFile: PRODUCTION_CONFIG,
      redis,
      env: { REDIS_PASSWORD: "limits0123456789abcdef", LIVEKIT_TURN_ENABLED: "false" },
    });
    const validate = async (room: string, identity: string) => {
      const token = new AccessToken(server.apiKey, server.apiSecret, { identity });
      token.addGrant({ room, roomJoin: true });
      const url = `${server.httpUrl}/rtc/validate?access_token=${await token.toJwt()}`;
      return (await fetch(url)).status;
    };
    const id22 = "A".repeat(22);
    expect(await validate(id22, id22)).toBe(200);
    expect(await validate(`${id22}x`, id22)).toBe(400);
    expect(await validate(id22, `${id22}x`)).toBe(400);
  });
});

const K8sDoc = z.looseObject({
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), namespace: z.string().optional() }),
});
const EnvVar = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z.unknown().optional(),
});
const LiveKitDeployment = z.object({
  spec: z.object({
    replicas: z.number(),
    template: z.object({
      spec: z.object({
        hostNetwork: z.boolean(),
        containers: z.array(
          z.object({
            image: z.string(),
            args: z.array(z.string()),
            env: z.array(EnvVar),
            volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
          }),
        ),
      }),
    }),
  }),
});

function k8sDocuments(): Array<z.infer<typeof K8sDoc> & { raw: unknown }> {
  return yamlFiles(join(INFRA, "k8s")).flatMap((file) =>
    parseAllDocuments(readFileSync(file, "utf8"))
      .map((document) => document.toJS())
      .filter((raw) => raw !== null)
      .map((raw) => ({ ...K8sDoc.parse(raw), raw })),
  );
}

describe("Kubernetes manifests (several livekit-server nodes sharing Redis)", () => {
  const documents = k8sDocuments();
  const deployment = LiveKitDeployment.parse(
    documents.find((d) => d.kind === "Deployment" && d.metadata.name === "livekit")?.raw,
  );
  const container = deployment.spec.template.spec.containers[0];
  if (!container) throw new Error("livekit Deployment has no container");

  it("run several nodes of the pinned server on the host network, all in one namespace", () => {
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.template.spec.hostNetwork).toBe(true);
    expect(container.image).toBe(PINNED_IMAGE);
    const namespaced = documents.filter((d) => d.kind !== "Namespace");
    for (const d of namespaced) expect(d.metadata.namespace, d.metadata.name).toBe("hush-sfu");
    const redisService = documents.find((d) => d.kind === "Service" && d.metadata.name === "redis");
    expect(redisService).toBeDefined();
    const redisHost = container.env.find((e) => e.name === "REDIS_HOST")?.value;
    expect(redisHost).toBe("redis.hush-sfu.svc.cluster.local:6379");
  });

  it("load the config from where the ConfigMap is mounted and set only variables livekit-server reads", () => {
    const configPath = container.args[container.args.indexOf("--config") + 1] ?? "";
    const mount = container.volumeMounts.find((m) => configPath.startsWith(`${m.mountPath}/`));
    expect(mount?.name, `${configPath} is inside a mounted volume`).toBe("config");
    const known = knownLiveKitEnv();
    expect(known.has("LIVEKIT_KEYS")).toBe(true);
    for (const { name } of container.env) {
      if (name === "POD_IP") continue; // ours, only used in args as $(POD_IP)
      expect(known.has(name), `livekit-server reads ${name}`).toBe(true);
    }
  });

  it("two nodes started with the manifests' settings register in one Redis", async () => {
    const password = "k8stest0123456789abcdef";
    const redis = await redisWithPassword(password);
    const env: Record<string, string> = {};
    for (const variable of container.env) if (variable.value) env[variable.name] = variable.value;
    env.REDIS_PASSWORD = password;
    // What differs on loopback: our Redis instead of the Service name, 127.0.0.1 for $(POD_IP),
    // and no STUN lookup of a public IP (there is no internet here); later flags win over env.
    const common = {
      configFile: PRODUCTION_CONFIG,
      env,
      redis,
      args: ["--rtc.use_external_ip=false"],
    };
    const first = await live(common);
    await live({ ...common, keys: { apiKey: first.apiKey, apiSecret: first.apiSecret } });
    const nodes = execFileSync(
      LIVEKIT_BIN,
      [
        ...["--config", PRODUCTION_CONFIG, "--redis-host", `${redis.host}:${redis.port}`],
        "list-nodes",
      ],
      { encoding: "utf8", env: { ...process.env, REDIS_PASSWORD: password, LIVEKIT_KEYS: "k: s" } },
    );
    expect(nodes.match(/\(SERVING\)/g)?.length).toBe(2);
  });
});
