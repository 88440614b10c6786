// 本周工作: a township or village officer's list for the week, on a phone, with or without a signal.
// The service worker (/sw.js) keeps this page and the last list fetched; visits recorded offline wait
// in IndexedDB (week-queue.js) and go to the registry when the network returns.
import { apiResponse, el, offsetParam, pager, params } from "./core.js";
import { category, lang, need, statusLabel } from "./i18n.js";
import * as queue from "./week-queue.js";
import { loadForm, renderVisitForm } from "./week-form.js";
import { w } from "./week-text.js";

const SECTIONS = ["not_reached", "lost", "plan_items", "certificates", "rectifications"];
const LIMIT = 20;
const REMINDERS = 5; // the next ones: the whole list is /reminders/mine
const shortId = (id) => (id.length > 12 ? `…${id.slice(-8)}` : id);
const time = (iso) => new Date(iso).toLocaleString(lang === "en" ? "en-GB" : "zh-CN");

let workerAsked = false;
let settling = null; // after visits were sent: looking again until reporting has them
let shown = null; // the mounted page's handlers: the network listeners are added once, not per mount

window.addEventListener("online", () => shown?.online());
window.addEventListener("offline", () => shown?.offline());

function keepOffline() {
  if (workerAsked || !("serviceWorker" in navigator)) return;
  workerAsked = true;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => { /* the page still works online */ });
  // The first visit's list was fetched before the worker took over: fetch it again through it, so it is kept.
  navigator.serviceWorker.addEventListener("controllerchange", () => shown?.refresh());
}

function personRow(row, pending, open) {
  const tags = [row.severe ? el("span", { class: "badge bad" }, w("severe")) : null,
    row.hardship ? el("span", { class: "badge warn" }, w("hardship")) : null,
    row.lost_count ? el("span", { class: "badge" }, w("lost_times", { n: row.lost_count, date: row.last_lost_on })) : null,
    pending ? el("span", { class: "badge ok", "data-pending": "yes" }, w("pending_badge")) : null];
  return el("li", { class: "week-row", "data-person": row.person_id },
    el("div", {}, el("span", { class: "id" }, shortId(row.person_id)), " ", row.village_name, " · ",
      category(row.category), row.grade ? ` ${w("grade_n", { n: row.grade })}` : "", " ", ...tags),
    el("button", { type: "button", class: "primary record", onclick: () => open(row) }, w("record_visit")));
}

function detailRow(attrs, summary, ...facts) {
  return el("li", { class: "week-row", ...attrs },
    el("details", {}, el("summary", {}, summary), el("dl", {}, ...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v ?? "—")]))));
}

function when(days) {
  if (days > 0) return el("span", { class: "badge bad" }, w("overdue_days", { n: days }));
  return null;
}

function rows(name, data, pendingIds, open) {
  const list = data.rows;
  if (!list.length) return el("p", { class: "muted" }, w("none_here"));
  const items = list.map((r) => {
    if (name === "not_reached" || name === "lost") return personRow(r, pendingIds.has(r.person_id), open);
    if (name === "plan_items") {
      return detailRow({ "data-item": r.item_id }, [`${need(r.need)} · `, w("due_on", { date: r.due_on }), " ", when(r.days_overdue)],
        [w("person"), shortId(r.person_id)], [w("department"), r.department_name], [w("plan_kind"), w(`kind_${r.kind}`)],
        ["", r.description || ""]);
    }
    if (name === "certificates") {
      return detailRow({ "data-certificate": r.person_id }, [shortId(r.person_id), " ", w("ends_on", { date: r.valid_until, n: r.days_left })],
        [w("person"), r.person_id], [w("village"), r.village_code], ["", r.suffix]);
    }
    return detailRow({ "data-rectification": r.rectification_id },
      [`${r.number || shortId(r.rectification_id)} ${r.target_name} · `, statusLabel(r.status), " ", when(r.days_overdue)],
      [w("problem"), r.problem], [w("measures"), r.measures], [w("department"), r.responsible_unit_name],
      [w("deadline"), r.deadline], ["", r.status_label]);
  });
  return el("ul", { class: "week-list" }, ...items);
}

function reminderRow(r) {
  const due = r.overdue ? el("span", { class: "badge bad" }, w("overdue_days", { n: -r.days_left }))
    : el("span", { class: "badge" }, r.days_left ? w("days_left", { n: r.days_left }) : w("due_today"));
  const channels = [...new Set(r.reminders.map((x) => x.channel))];
  return el("li", { class: "week-row", "data-reminder": r.item_id, "data-kind": r.kind },
    el("div", {}, r.title, " · ", w("due_on", { date: r.due_on }), " ", due,
      channels.length ? el("span", { class: "muted" }, " ", w("reminded_by", { channels: channels.join(", ") })) : null));
}

/** The signed-in officer's own next reminders (their items, whatever unit the page shows). */
function remindersPanel(mine) {
  return el("section", { class: "panel week-section", id: "section-reminders", "data-shown": mine.items.length },
    el("h2", {}, w("s_reminders"), " ", el("span", { class: "badge" }, `${mine.items.length}${mine.next_after ? "+" : ""}`)),
    mine.items.length ? el("ul", { class: "week-list" }, ...mine.items.map(reminderRow)) : el("p", { class: "muted" }, w("none_here")),
    mine.next_after ? el("p", { class: "muted" }, w("more_reminders")) : null);
}

function queuePanel(entries, redraw) {
  const act = (work) => async () => { await work(); await redraw(); };
  const items = entries.map((e) => {
    const state = e.state === "conflict"
      ? (e.current_version ? w("q_conflict", { version: e.current_version }) : w("q_conflict_unknown"))
      : e.state === "rejected" ? w("q_rejected", { message: e.message })
        : e.state === "signin" ? w("q_sign_in") : w("q_pending");
    const buttons = [];
    if (e.state === "conflict" && e.current_version) {
      buttons.push(el("button", { type: "button", class: "primary resend", onclick: act(async () => { await queue.resend(e); await shown?.sync(); }) }, w("resend")));
    }
    if (e.state !== "pending") {
      buttons.push(el("button", { type: "button", class: "discard", onclick: act(async () => {
        if (confirm(w("discard_confirm"))) await queue.discard(e.id);
      }) }, w("discard")));
    }
    return el("li", { class: `queued ${e.state}`, "data-person": e.person_id, "data-state": e.state },
      el("div", {}, el("span", { class: "id" }, shortId(e.person_id)), " ",
        w("your_visit", { date: e.body.visited_on, mode: w(`mode_${e.body.mode}`) })),
      el("div", { class: e.state === "pending" ? "muted" : "error-text" }, state),
      e.current ? el("div", { class: "muted" }, w("current_person", { name: e.current.name || shortId(e.person_id),
        version: e.current.version, inactive: e.current.active === false ? w("inactive") : "" })) : null,
      buttons.length ? el("div", { class: "actions" }, ...buttons) : null);
  });
  return el("section", { class: "panel", id: "queue", "aria-live": "polite" },
    el("h2", {}, w("queue_title"), " ", el("span", { class: "badge", id: "queue-count" }, entries.length)),
    entries.length ? el("ul", { class: "week-list" }, ...items) : el("p", { class: "muted" }, w("queue_empty")),
    entries.some((e) => e.state === "pending")
      ? el("button", { type: "button", id: "send-now", onclick: act(() => queue.flush()) }, w("send_now")) : null);
}

/** Draw the week; returns the live refresh. */
export async function mount(main) {
  keepOffline();
  const p = params();
  const network = el("span", { id: "network", class: "badge", role: "status" });
  const fetched = el("p", { id: "fetched", class: "muted" });
  const queueBox = el("div", {});
  const remindersBox = el("div", {});
  const body = el("div", {});
  const dialog = el("dialog", { id: "visit-dialog", "aria-label": w("record_visit") });
  clearInterval(settling); // a re-mount (language switch) starts afresh
  main.replaceChildren(el("h1", { id: "week-title" }, w("week_title")), el("p", {}, network, " "), fetched, queueBox, remindersBox, body, dialog);
  let data = null;
  let survey;

  const showNetwork = () => {
    network.textContent = navigator.onLine ? w("online") : w("offline");
    network.className = `badge ${navigator.onLine ? "ok" : "bad"}`;
    network.dataset.online = navigator.onLine ? "yes" : "no";
  };

  async function drawQueue() {
    const entries = await queue.entries();
    queueBox.replaceChildren(queuePanel(entries, async () => { await drawQueue(); await draw(); }));
    return entries;
  }

  async function open(row) {
    if (survey === undefined) survey = await loadForm(data.year);
    const close = () => dialog.close();
    dialog.replaceChildren(renderVisitForm(survey, { label: shortId(row.person_id) }, async (visit) => {
      await queue.enqueue(row.person_id, { ...visit, expected_version: row.version });
      close();
      await drawQueue();
      await draw();
      if (navigator.onLine) await sync();
    }, close));
    dialog.showModal();
  }

  async function draw() {
    const query = { unit: p.get("unit"), year: p.get("year"), limit: LIMIT };
    for (const s of SECTIONS) query[`${s}_offset`] = offsetParam(`${s}_offset`);
    try {
      const answer = await apiResponse("/views/week", query);
      data = answer.body;
      const offline = answer.headers.get("X-Offline-Copy");
      const at = answer.headers.get("X-Fetched-At") || new Date().toISOString();
      fetched.textContent = offline ? w("fetched_offline", { time: time(at) }) : w("fetched_now", { time: time(at) });
      fetched.dataset.offline = offline ? "yes" : "no";
    } catch (error) {
      if (error instanceof TypeError && !data) { fetched.textContent = w("no_copy"); return; }
      if (!(error instanceof TypeError)) throw error;
      return; // offline with a list already shown: keep it
    }
    const unit = data.unit;
    document.getElementById("week-title").textContent = `${w("week_title")} · ${unit.level === "village"
      ? w("week_for_village", { village: unit.name, township: unit.township_name }) : unit.name}`;
    const pendingIds = new Set((await queue.entries()).map((e) => e.person_id));
    body.replaceChildren(...SECTIONS.map((name) => {
      const section = data.sections[name];
      const key = `${name}_offset`;
      return el("section", { class: "panel week-section", id: `section-${name}`, "data-total": section.total },
        el("h2", {}, w(`s_${name}`), " ", el("span", { class: "badge" }, section.total)),
        rows(name, section, pendingIds, open),
        section.total > section.limit ? pager(section, key, `pager-${name}`) : null);
    }));
  }

  async function drawReminders() {
    try {
      remindersBox.replaceChildren(remindersPanel((await apiResponse("/reminders/mine", { limit: REMINDERS })).body));
    } catch (error) {
      if (!(error instanceof TypeError)) remindersBox.replaceChildren(); // refused: no panel
      // offline: keep what is shown
    }
  }

  async function sync() {
    const sent = await queue.flush();
    await drawQueue();
    if (!sent) return;
    await draw();
    // Reporting applies the registry's events a moment later; the live stream says so, but it may be
    // reconnecting after the network came back: look again every 2 s for half a minute.
    clearInterval(settling);
    let tries = 15;
    settling = setInterval(() => { if (--tries <= 0) clearInterval(settling); draw().catch(() => {}); }, 2000);
  }

  showNetwork();
  shown = { online: async () => { showNetwork(); await queue.retrySignedOut(); await sync(); await draw(); },
    offline: showNetwork, refresh: () => draw(), sync };
  await drawQueue();
  await draw();
  await drawReminders();
  if (navigator.onLine) sync();
  return { refresh: async () => { await drawQueue(); await draw(); await drawReminders(); } };
}

