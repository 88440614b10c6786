// 审计历史: every event that touched an id, across services, in order, with actor, time and what changed.
import { api, el, shortId, params, setParams } from "./core.js";
import { eventLabel, lang, t } from "./i18n.js";

function value(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function timeline(data) {
  return el("ol", { class: "timeline", id: "timeline" }, ...data.events.map((e) => el("li", { class: e.service, "data-type": e.type },
    el("div", {}, el("strong", {}, eventLabel(e.type)), " ",
      el("span", { class: "badge" }, t(`svc_${e.service}`)), " ",
      el("time", { datetime: e.time }, new Date(e.time).toLocaleString(lang === "en" ? "en-GB" : "zh-CN"))),
    el("div", { class: "muted" }, `${t("actor")}: ${e.actor} · ${e.department} · ${e.stream_type} ${shortId(e.stream_id)} v${e.version}`),
    Object.keys(e.changed).length ? el("dl", {}, ...Object.entries(e.changed).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, value(v))])) : null)));
}

/** Draw the history page for ?id=…; returns the live refresh. */
export async function mount(main) {
  const id = params().get("id") || "";
  const body = el("div", {});
  const form = el("form", { class: "controls", role: "search", onsubmit: (e) => {
    e.preventDefault();
    setParams({ id: document.getElementById("entity").value.trim() });
  } }, el("label", {}, t("entity_id"), el("input", { id: "entity", name: "id", value: id, size: 40, required: true })),
  el("button", { type: "submit", class: "primary" }, t("show")));
  main.replaceChildren(el("h1", {}, t("nav_history")), el("p", { class: "muted" }, t("history_prompt")), form, body);

  async function draw() {
    if (!id) return;
    const data = await api(`/views/history/${encodeURIComponent(id)}`);
    body.replaceChildren(
      el("p", { id: "history-count" }, t("events_n", { n: data.count, s: data.services.map((s) => t(`svc_${s}`)).join("、") })),
      el("section", { class: "panel" }, timeline(data)),
      el("p", { class: "note" }, t("audit_note")));
  }
  try {
    await draw();
  } catch (error) {
    if (error.status === 404) body.replaceChildren(el("p", { class: "error-text" }, error.message));
    else throw error;
  }
  return { refresh: draw };
}
