// The officer's week offline: keeps the page, its scripts and styles, the officer's list (the last copy
// fetched) and the registry's survey form, network first. Every other request passes through untouched.
const CACHE = "qd-week-v1";
const SHELL = ["/dash/week", "/dash/static/core.js", "/dash/static/i18n.js", "/dash/static/app.css",
  "/dash/static/logo.svg", "/dash/static/page-week.js", "/dash/static/week-text.js",
  "/dash/static/week-form.js", "/dash/static/week-queue.js"];
const FETCHED = "X-Fetched-At"; // when the copy was fetched, so that the page can say how old it is
const OFFLINE = "X-Offline-Copy"; // set on an answer served from the cache

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith("qd-week-") && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

/** Which requests are kept, and under which key (the page itself whatever its ?unit=). */
function kept(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (url.origin === self.location.origin) {
    if (url.pathname === "/dash/week") return { key: "/dash/week" };
    if (SHELL.includes(url.pathname)) return { key: url.pathname };
    if (url.pathname === "/views/week") return { key: url.pathname + url.search };
    return null;
  }
  // The registry's survey form (another origin: kept from a CORS answer; a 404 is not kept).
  if (url.pathname.endsWith("/survey-forms/current")) return { key: request.url };
  return null;
}

async function stamped(response) {
  const headers = new Headers(response.headers);
  headers.set(FETCHED, new Date().toISOString());
  return new Response(await response.clone().blob(), { status: response.status, statusText: response.statusText, headers });
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) {
      const copy = await stamped(response);
      await cache.put(key, copy.clone());
      return copy;
    }
    return response;
  } catch (error) {
    const copy = await cache.match(key);
    if (!copy) throw error;
    const headers = new Headers(copy.headers);
    headers.set(OFFLINE, "1");
    return new Response(await copy.blob(), { status: copy.status, statusText: copy.statusText, headers });
  }
}

self.addEventListener("fetch", (event) => {
  const which = kept(event.request);
  if (which) event.respondWith(networkFirst(event.request, which.key));
});

// Sign-out: forget the officer's list (the page asks; the queued visits stay in IndexedDB).
self.addEventListener("message", (event) => {
  if (event.data === "forget-lists") {
    event.waitUntil(caches.open(CACHE).then(async (cache) => {
      for (const request of await cache.keys()) if (new URL(request.url).pathname === "/views/week") await cache.delete(request);
    }));
  }
});
