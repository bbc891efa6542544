// Starts the real chatd binary for a test: in-memory store, any free port on
// 127.0.0.1, a fixed secret; resolves once it prints its address.
//
//   const d = await startChatd(binary, ["--cors-origins", "http://127.0.0.1:1"]);
//   (options: { port, db } to restart one on the same port and database file)
//   await fetch(d.url + "/healthz"); d.token("1", "admin"); await d.stop();
import { spawn, execFileSync } from "node:child_process";

export const SECRET = "web-tests-secret-of-32-bytes-or-more-0123456789";

export function startChatd(binary, extraArgs = [], { timeoutMs = 30000, port = 0, db = ":memory:" } = {}) {
  const args = ["--host", "127.0.0.1", "--port", String(port), "--db", db, "--jwt-secret", SECRET, "--threads", "64",
                ...extraArgs];
  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr.on("data", (b) => { err += b; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill("SIGKILL"); reject(new Error("chatd did not start:\n" + out + err)); }, timeoutMs);
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`chatd exited (${code}):\n${out}${err}`)); });
    child.stdout.on("data", (b) => {
      out += b;
      const m = out.match(/listening on (http:\/\/[^ ]+)/);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve({
        url: m[1],
        stderr: () => err,
        token: (sub, role = "user") =>
          execFileSync(binary, ["token", "--sub", sub, "--role", role, "--db", ":memory:", "--jwt-secret", SECRET])
            .toString().trim(),
        stop: () => new Promise((done) => {
          if (child.exitCode !== null) return done();
          child.on("exit", () => done());
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 10000).unref();
        }),
      });
    });
  });
}

// Reads `--name value` pairs of process.argv.
export function flags() {
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i + 1 < a.length; i += 2) out[a[i].replace(/^--/, "")] = a[i + 1];
  return out;
}
