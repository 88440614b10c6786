// Visits recorded on the phone, kept in IndexedDB until the registry has them.
//
// Each entry: {id, person_id, body (with expected_version), state, message, current_version, saved_at}.
// States: "pending" (waiting for the network), "conflict" (409: someone else changed the person; the
// officer re-sends against the new version or discards), "rejected" (the registry refused it for
// another reason, shown with its message until discarded), "signin" (the token was refused).
// An entry leaves the queue only when the registry accepted it or the officer discarded it.
import { authorizedFetch, registryBase } from "./core.js";

const DB = "qd-week";
const STORE = "visits";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const result = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Every queued visit, oldest first. */
export async function entries() {
  const all = (await run("readonly", (store) => store.getAll())) || [];
  return all.sort((a, b) => a.saved_at.localeCompare(b.saved_at));
}

/** Keep a new visit for ``person_id``. */
export async function enqueue(personId, body) {
  const entry = { id: crypto.randomUUID(), person_id: personId, body, state: "pending", message: "",
    current_version: null, saved_at: new Date().toISOString() };
  await run("readwrite", (store) => store.put(entry));
  return entry;
}

export const save = (entry) => run("readwrite", (store) => store.put(entry));
export const discard = (id) => run("readwrite", (store) => store.delete(id));

/** Re-send a conflicting visit against the person's version now (what the officer saw). */
export async function resend(entry) {
  await save({ ...entry, state: "pending", message: "",
    body: { ...entry.body, expected_version: entry.current_version ?? entry.body.expected_version } });
}

async function currentVersion(personId) {
  try {
    const response = await authorizedFetch(`${registryBase()}/persons/${encodeURIComponent(personId)}`);
    if (!response.ok) return null;
    const person = await response.json();
    return { version: person.version, name: person.name || "", active: person.active };
  } catch {
    return null;
  }
}

let flushing = null;

/** Send every pending visit to the registry; returns how many it accepted. Stops at the first network failure. */
export function flush() {
  flushing ??= sendAll().finally(() => { flushing = null; });
  return flushing;
}

async function sendAll() {
  let sent = 0;
  for (const entry of await entries()) {
    if (entry.state !== "pending") continue;
    let response;
    try {
      response = await authorizedFetch(`${registryBase()}/persons/${encodeURIComponent(entry.person_id)}/visits`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(entry.body) });
    } catch {
      break; // still offline: keep it, and the ones after it, for the next try
    }
    if (response.ok) { await discard(entry.id); sent += 1; continue; }
    let body = {};
    try { body = await response.json(); } catch { /* judged by the status */ }
    if (response.status === 401) { await save({ ...entry, state: "signin", message: body.message || "" }); break; }
    if (response.status === 409 && body.error === "version_conflict") {
      const now = await currentVersion(entry.person_id);
      await save({ ...entry, state: "conflict", message: body.message || "", current_version: now ? now.version : null,
        current: now });
    } else {
      await save({ ...entry, state: "rejected", message: body.message || `${response.status} ${response.statusText}` });
    }
  }
  return sent;
}

/** After signing in again, visits held back by a refused token become pending again. */
export async function retrySignedOut() {
  for (const entry of await entries()) if (entry.state === "signin") await save({ ...entry, state: "pending" });
}
