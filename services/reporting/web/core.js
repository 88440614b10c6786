// The dashboard shell: sign-in, API calls with the bearer token, the live stream, language, navigation.
import { lang, setLang, t } from "./i18n.js";

const PAGES = ["coverage", "overdue", "scores", "ledger", "highlights", "history"];
const TOKEN_KEY = "qd.token";

/** Build an element: el("a", {href: "#", class: "x", onclick: f}, "text", child …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Ids are time-ordered UUIDs: their end, not their start, tells them apart. */
export const shortId = (id) => (id.length > 12 ? `…${id.slice(-8)}` : id);
export const pct = (rate) => (rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`);
export const params = () => new URLSearchParams(location.search);

/** Change the page's URL parameters (kept in the address, so a view can be bookmarked) and redraw. */
export function setParams(changes) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") p.delete(k);
    else p.set(k, v);
  }
  history.replaceState(null, "", `${location.pathname}${p.toString() ? "?" + p : ""}`);
  mount();
}

/**
 * Paging for a list the server pages ({total, offset, limit} in its answer): "1–50 of 308" and
 * previous / next buttons, kept in the address as ?<key>= so that a page can be bookmarked.
 */
export function pager(data, key = "offset", id = "pager") {
  const { total, offset, limit } = data;
  const shown = Math.max(0, Math.min(limit, total - offset));
  const range = total ? t("range", { from: offset + 1, to: offset + shown, total }) : t("range_none");
  const go = (next) => () => setParams({ [key]: next > 0 ? next : null });
  return el("nav", { class: "pager no-print", id, "aria-label": t("paging") },
    el("span", { class: "range", role: "status" }, range),
    total > limit ? el("span", { class: "buttons" },
      el("button", { type: "button", class: "prev", disabled: offset <= 0, onclick: go(Math.max(0, offset - limit)) },
        t("prev")),
      el("button", { type: "button", class: "next", disabled: offset + limit >= total, onclick: go(offset + limit) },
        t("next"))) : null);
}

/** Rows per page: fewer on a phone, where each row is a card. */
export const pageSize = () => (window.matchMedia("(max-width: 700px)").matches ? 20 : 50);

/** The offset a page asks for, from ?<key>= (0 when absent or invalid). */
export const offsetParam = (key = "offset") => Math.max(0, Number.parseInt(params().get(key) || "0", 10) || 0);

// --- auth ------------------------------------------------------------------------------------
export const token = () => sessionStorage.getItem(TOKEN_KEY);

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

const watched = new Set();

/** GET a JSON view with the bearer token; remembers which read models it depends on. */
export async function api(path, query = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") p.set(k, v);
  const today = params().get("today");
  if (today && !p.has("today")) p.set("today", today);
  const response = await fetch(`${path}${p.toString() ? "?" + p : ""}`, {
    headers: { Authorization: `Bearer ${token()}` }, cache: "no-store" });
  if (response.status === 401) { signIn(t("token_refused")); throw new HttpError(401, t("token_refused")); }
  let body;
  try { body = await response.json(); } catch { body = {}; }
  if (!response.ok) throw new HttpError(response.status, body.message || response.statusText);
  for (const topic of (response.headers.get("X-Live-Topics") || "").split(",")) if (topic) watched.add(topic);
  return body;
}

/** Download a file the API serves (the token cannot ride on a plain link). */
export async function download(path, fallbackName) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  if (!response.ok) throw new HttpError(response.status, response.statusText);
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename\*=UTF-8''([^;]+)/.exec(disposition);
  const link = el("a", { href: URL.createObjectURL(blob), download: match ? decodeURIComponent(match[1]) : fallbackName });
  document.body.append(link);
  link.click();
  link.remove();
}

function signIn(message = "") {
  const dialog = document.getElementById("signin");
  document.getElementById("signin-message").textContent = message;
  const registry = document.getElementById("registry-url");
  if (!registry.value) registry.value = `${location.protocol}//${location.hostname}:${Number(location.port || 80) - 3}`;
  if (!dialog.open) dialog.showModal();
  document.getElementById("staff-input").focus();
}

class SignInError extends Error {}

/** Ask the registry for a development token for ``staff``; every failure says what went wrong. */
async function devToken(staff, base) {
  let response;
  try {
    response = await fetch(`${base}/auth/dev-token`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ staff_id: staff }) });
  } catch {
    // the browser hides why: the service is down, the address is wrong, or it refuses this origin
    throw new SignInError(t("registry_unreachable", { url: base }));
  }
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: judged by the status below */ }
  if (response.ok && body.access_token) return body.access_token;
  if (response.status === 404 && body.error === "not_found") throw new SignInError(t("no_such_staff", { id: staff }));
  if (response.status === 404) throw new SignInError(t("registry_no_dev_token", { url: base }));
  if (response.status === 403) throw new SignInError(t("dev_tokens_off"));
  throw new SignInError(t("registry_refused", { status: response.status, message: body.message || response.statusText }));
}

/** Whether the reporting service accepts ``value`` as a bearer token. */
async function tokenAccepted(value) {
  const response = await fetch("/views/live-stats", { headers: { Authorization: `Bearer ${value}` }, cache: "no-store" });
  return response.status !== 401;
}

function setupSignIn() {
  const dialog = document.getElementById("signin");
  const message = document.getElementById("signin-message");
  const submit = document.getElementById("use-token");
  document.getElementById("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const pasted = document.getElementById("token-input").value.trim();
    const staff = document.getElementById("staff-input").value.trim();
    const base = document.getElementById("registry-url").value.trim().replace(/\/$/, "");
    if (!pasted && !staff) { message.textContent = t("need_staff_or_token"); return; }
    message.textContent = t("signing_in");
    submit.disabled = true;
    try {
      const value = pasted || await devToken(staff, base);
      if (!await tokenAccepted(value)) throw new SignInError(pasted ? t("token_not_accepted") : t("token_refused"));
      sessionStorage.setItem(TOKEN_KEY, value);
      message.textContent = "";
      dialog.close();
      mount();
      connectLive(true);
    } catch (error) {
      message.textContent = error instanceof SignInError ? error.message : `${t("error")}: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
  document.getElementById("signin-cancel").addEventListener("click", () => dialog.close());
}

// --- live ------------------------------------------------------------------------------------
let liveState = "connecting";
let liveController = null;
let backoff = 1000;
let everConnected = false;

function showLive(state) {
  liveState = state;
  const badge = document.getElementById("live");
  badge.dataset.state = state;
  badge.textContent = t(`live_${state}`);
}

/** Follow /live: refetch the page when a read model it shows changes; reconnect by itself. */
async function connectLive(restart = false) {
  if (restart && liveController) liveController.abort();
  if (!token()) { showLive("signedout"); return; }
  const controller = new AbortController();
  liveController = controller;
  showLive(liveState === "live" ? "live" : "connecting");
  let watchdog;
  const arm = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), 40000); };
  try {
    const response = await fetch("/live", { headers: { Authorization: `Bearer ${token()}` },
      cache: "no-store", signal: controller.signal });
    if (response.status === 401) { showLive("signedout"); signIn(t("token_refused")); return; }
    if (!response.ok || !response.body) throw new Error(response.statusText);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    arm();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      arm();
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const kind = /^event: (.*)$/m.exec(block);
        const data = /^data: (.*)$/m.exec(block);
        if (!kind) continue;
        if (kind[1] === "hello") {
          showLive("live");
          backoff = 1000;
          if (everConnected) refresh(null); // we may have missed changes while away
          everConnected = true;
        } else if (kind[1] === "change" && data) {
          const topics = JSON.parse(data[1]).topics;
          if (topics.some((topic) => watched.has(topic))) refresh(topics);
        }
      }
    }
  } catch (error) {
    if (controller !== liveController) return; // replaced by a new connection
  } finally {
    clearTimeout(watchdog);
  }
  if (controller !== liveController) return;
  showLive("offline");
  setTimeout(() => connectLive(), backoff);
  backoff = Math.min(backoff * 2, 10000);
}

// --- pages -----------------------------------------------------------------------------------
let current = null;
let refreshing = false;
let again = false;

async function refresh(topics) {
  if (!current || !current.refresh) return;
  if (refreshing) { again = true; return; }
  refreshing = true;
  const focused = document.activeElement && document.activeElement.id; // keep keyboard users where they were
  try {
    await current.refresh(topics);
    stamp();
    if (focused && document.activeElement !== document.getElementById(focused)) document.getElementById(focused)?.focus();
  } catch (error) {
    showError(error);
  } finally {
    refreshing = false;
    if (again) { again = false; refresh(null); }
  }
}

function stamp() {
  document.getElementById("updated").textContent = `${t("updated_at")} ${new Date().toLocaleTimeString(lang === "en" ? "en-GB" : "zh-CN")}`;
}

export function showError(error) {
  const box = document.getElementById("error");
  box.hidden = false;
  box.textContent = error.status === 403 ? `${t("forbidden")} (${error.message})` : `${t("error")}: ${error.message}`;
}

function renderShell(page) {
  document.title = `${t(`nav_${page}`)} · ${t("app")}`;
  document.getElementById("app-title").textContent = t("app");
  document.getElementById("skip").textContent = t("skip");
  const nav = document.getElementById("nav");
  nav.replaceChildren(...PAGES.map((p) => el("a", { href: `/dash/${p}`, "aria-current": p === page ? "page" : null },
    t(`nav_${p}`))));
  const toggle = document.getElementById("lang");
  toggle.textContent = t("lang_switch");
  toggle.setAttribute("aria-label", t("lang_switch_label"));
  toggle.setAttribute("lang", lang === "zh" ? "en" : "zh-CN");
  document.getElementById("signout").textContent = token() ? t("sign_out") : t("sign_in");
  for (const [id, key] of [["signin-title", "sign_in_title"], ["signin-help", "sign_in_help"],
    ["token-label", "token"], ["token-summary", "use_a_token"], ["staff-label", "staff_id"],
    ["registry-label", "registry_url"], ["use-token", "sign_in"], ["signin-cancel", "cancel"], ["print", "print"]]) {
    document.getElementById(id).textContent = t(key);
  }
  showLive(liveState);
}

/** Draw the current page from scratch (on load, on a language switch, on a filter change). */
export async function mount() {
  const page = document.body.dataset.page;
  renderShell(page);
  const main = document.getElementById("main");
  const box = document.getElementById("error");
  box.hidden = true;
  if (!token()) { main.replaceChildren(el("p", {}, t("sign_in_help"))); signIn(); return; }
  const module = await import(`./page-${page}.js`);
  watched.clear();
  main.replaceChildren(el("p", { class: "muted" }, t("loading")));
  try {
    current = await module.mount(main);
    document.body.dataset.loaded = "yes";
    stamp();
  } catch (error) {
    if (error.status !== 401) showError(error);
  }
}

function start() {
  setLang(lang);
  setupSignIn();
  document.getElementById("lang").addEventListener("click", () => { setLang(lang === "zh" ? "en" : "zh"); mount(); });
  document.getElementById("signout").addEventListener("click", () => {
    if (token()) { sessionStorage.removeItem(TOKEN_KEY); if (liveController) liveController.abort(); showLive("signedout"); }
    mount();
  });
  document.getElementById("print").addEventListener("click", () => window.print());
  mount();
  connectLive();
}

start();
