// The dashboard shell: sign-in, API calls with the bearer token, the live stream, language, navigation.
import { lang, setLang, t } from "./i18n.js";

const PAGES = ["coverage", "overdue", "scores", "ledger", "highlights", "history", "week"];
const TOKEN_KEY = "qd.token";
const REFRESH_KEY = "qd.refresh"; // a password sign-in's refresh token (spent and replaced on use)
const REGISTRY_KEY = "qd.registry"; // where that refresh token is traded

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
  return (await apiResponse(path, query)).body;
}

/** The same, with the response's headers (the week page reads whether it is an offline copy). */
export async function apiResponse(path, query = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") p.set(k, v);
  const today = params().get("today");
  if (today && !p.has("today")) p.set("today", today);
  const get = () => fetch(`${path}${p.toString() ? "?" + p : ""}`, {
    headers: { Authorization: `Bearer ${token()}` }, cache: "no-store" });
  let response = await get();
  // Access tokens are short-lived: trade the refresh token for a new one once before asking to sign in.
  if (response.status === 401 && await refreshed()) response = await get();
  if (response.status === 401) { signIn(t("token_refused")); throw new HttpError(401, t("token_refused")); }
  let body;
  try { body = await response.json(); } catch { body = {}; }
  if (!response.ok) throw new HttpError(response.status, body.message || response.statusText);
  for (const topic of (response.headers.get("X-Live-Topics") || "").split(",")) if (topic) watched.add(topic);
  return { body, headers: response.headers };
}

/** Where the registry is: the address signed in at, else this port − 3 (as the sign-in box fills it in). */
export function registryBase() {
  return sessionStorage.getItem(REGISTRY_KEY)
    || `${location.protocol}//${location.hostname}:${Number(location.port || 80) - 3}`;
}

/** fetch() with the bearer token, trading the refresh token once on a 401 (calls to the registry). */
export async function authorizedFetch(url, init = {}) {
  const call = () => fetch(url, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${token()}` } });
  let response = await call();
  if (response.status === 401 && await refreshed()) response = await call();
  return response;
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

/** Sign in with a password at the registry; keeps the refresh token for the next access token. */
async function passwordSignIn(staff, password, base) {
  let response;
  try {
    response = await fetch(`${base}/auth/login`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ staff_id: staff, password }) });
  } catch {
    throw new SignInError(t("registry_unreachable", { url: base }));
  }
  let body = {};
  try { body = await response.json(); } catch { /* judged by the status below */ }
  if (response.ok && body.access_token) {
    sessionStorage.setItem(REFRESH_KEY, body.refresh_token);
    sessionStorage.setItem(REGISTRY_KEY, base);
    return body.access_token;
  }
  if (response.status === 401) throw new SignInError(t("wrong_password"));
  if (response.status === 423) throw new SignInError(t("account_locked", { message: body.message || "" }));
  if (response.status === 429) throw new SignInError(t("too_many_attempts", { seconds: response.headers.get("Retry-After") || "60" }));
  throw new SignInError(t("registry_refused", { status: response.status, message: body.message || response.statusText }));
}

/** Set a password with the one-time code an admin handed over; every refusal says what to do. */
async function setPassword(staff, code, password, base) {
  let response;
  try {
    response = await fetch(`${base}/auth/password`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ staff_id: staff, code, password }) });
  } catch {
    throw new SignInError(t("registry_unreachable", { url: base }));
  }
  if (response.ok) return;
  let body = {};
  try { body = await response.json(); } catch { /* judged by the status below */ }
  if (response.status === 422 && body.field === "code") throw new SignInError(t("setup_code_wrong"));
  if (response.status === 422 && JSON.stringify(body).includes("password")) throw new SignInError(t("password_too_short"));
  if (response.status === 429) throw new SignInError(t("too_many_attempts", { seconds: response.headers.get("Retry-After") || "60" }));
  throw new SignInError(t("registry_refused", { status: response.status, message: body.message || response.statusText }));
}

/** The "set your password" view: reached from the sign-in, back to it (staff id filled in) when done. */
function setupSetPassword() {
  const signin = document.getElementById("signin");
  const dialog = document.getElementById("setpw");
  const message = document.getElementById("setpw-message");
  const submit = document.getElementById("setpw-submit");
  const field = (id) => document.getElementById(id);
  field("setpw-open").addEventListener("click", () => {
    field("setpw-staff").value = field("staff-input").value.trim();
    message.textContent = "";
    signin.close();
    dialog.showModal();
    field(field("setpw-staff").value ? "setpw-code" : "setpw-staff").focus();
  });
  field("setpw-cancel").addEventListener("click", () => { dialog.close(); signIn(); });
  field("setpw-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const staff = field("setpw-staff").value.trim();
    const code = field("setpw-code").value.trim();
    const password = field("setpw-password").value;
    if (!staff || !code || !password) { message.textContent = t("need_staff_code_password"); return; }
    if (password.length < 10) { message.textContent = t("password_too_short"); return; }
    if (password !== field("setpw-repeat").value) { message.textContent = t("passwords_differ"); return; }
    message.textContent = t("setting_password");
    submit.disabled = true;
    try {
      await setPassword(staff, code, password, field("registry-url").value.trim().replace(/\/$/, ""));
      for (const id of ["setpw-code", "setpw-password", "setpw-repeat"]) field(id).value = "";
      dialog.close();
      field("staff-input").value = staff;
      signIn(t("password_set"));
      field("password-input").focus();
    } catch (error) {
      message.textContent = error instanceof SignInError ? error.message : `${t("error")}: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
}

let tokenTrade = null;

/** Trade the stored refresh token for new tokens, once for every caller waiting at that moment
 * (the page and the live stream both meet the expired token); false if the registry refuses. */
function refreshed() {
  tokenTrade ??= tradeRefreshToken().finally(() => { tokenTrade = null; });
  return tokenTrade;
}

async function tradeRefreshToken() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  const base = sessionStorage.getItem(REGISTRY_KEY);
  if (!refresh || !base) return false;
  sessionStorage.removeItem(REFRESH_KEY); // spent either way: a refresh token works once
  try {
    const response = await fetch(`${base}/auth/refresh`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: refresh }) });
    if (!response.ok) return false;
    const body = await response.json();
    sessionStorage.setItem(TOKEN_KEY, body.access_token);
    sessionStorage.setItem(REFRESH_KEY, body.refresh_token);
    return true;
  } catch {
    return false;
  }
}

/** Sign out: forget the tokens and revoke the refresh token at the registry (best effort). */
function signOut() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  const base = sessionStorage.getItem(REGISTRY_KEY);
  for (const key of [TOKEN_KEY, REFRESH_KEY]) sessionStorage.removeItem(key);
  navigator.serviceWorker?.controller?.postMessage("forget-lists"); // the week page's kept lists (sw.js)
  if (refresh && base) {
    fetch(`${base}/auth/logout`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }) }).catch(() => {});
  }
}

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
    const password = document.getElementById("password-input").value;
    const base = document.getElementById("registry-url").value.trim().replace(/\/$/, "");
    if (!pasted && !staff) { message.textContent = t("need_staff_or_token"); return; }
    message.textContent = t("signing_in");
    submit.disabled = true;
    try {
      // A password signs in for real; a staff id alone is the development path (dev tokens).
      const value = pasted || (password ? await passwordSignIn(staff, password, base) : await devToken(staff, base));
      document.getElementById("password-input").value = "";
      if (!await tokenAccepted(value)) throw new SignInError(pasted ? t("token_not_accepted") : t("token_refused"));
      sessionStorage.setItem(TOKEN_KEY, value);
      if (!pasted) sessionStorage.setItem(REGISTRY_KEY, base); // the week page sends visits there
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
    if (response.status === 401) {
      if (await refreshed()) { connectLive(true); return; }
      showLive("signedout"); signIn(t("token_refused")); return;
    }
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
    ["password-label", "password"],
    ["registry-label", "registry_url"], ["use-token", "sign_in"], ["signin-cancel", "cancel"], ["print", "print"],
    ["setpw-open", "set_password_open"], ["setpw-title", "set_password_title"], ["setpw-help", "set_password_help"],
    ["setpw-staff-label", "staff_id"], ["setpw-code-label", "setup_code"], ["setpw-password-label", "new_password"],
    ["setpw-repeat-label", "repeat_password"], ["setpw-submit", "set_password"], ["setpw-cancel", "back_to_sign_in"]]) {
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
  setupSetPassword();
  document.getElementById("lang").addEventListener("click", () => { setLang(lang === "zh" ? "en" : "zh"); mount(); });
  document.getElementById("signout").addEventListener("click", () => {
    if (token()) { signOut(); if (liveController) liveController.abort(); showLive("signedout"); }
    mount();
  });
  document.getElementById("print").addEventListener("click", () => window.print());
  mount();
  connectLive();
}

start();
