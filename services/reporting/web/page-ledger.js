// 整改台账: the rectification ledger as people print it, with the spreadsheet download.
import { api, download, el, offsetParam, pager, pageSize, params, setParams, shortId, showError } from "./core.js";
import { lang, statusLabel, t } from "./i18n.js";

function filters(status, overdue) {
  return el("div", { class: "controls no-print" },
    el("label", {}, t("status"), el("select", { id: "status", onchange: (e) => setParams({ status: e.target.value, offset: null }) },
      el("option", { value: "" }, t("any")),
      ...["assigned", "reported", "reopened", "closed"].map((s) => el("option", { value: s, selected: s === status }, statusLabel(s))))),
    el("label", {}, t("only_overdue"), el("input", { id: "overdue", type: "checkbox", checked: overdue === "true",
      onchange: (e) => setParams({ overdue: e.target.checked ? "true" : null, offset: null }) })),
    el("button", { id: "download-xlsx", type: "button", class: "primary", onclick: () => save("xlsx") }, t("download_xlsx")),
    el("button", { id: "download-csv", type: "button", onclick: () => save("csv") }, t("download_csv")));
}

async function save(extension) {
  const query = new URLSearchParams();
  for (const key of ["status", "overdue", "today"]) if (params().get(key)) query.set(key, params().get(key));
  try {
    await download(`/rectifications/ledger.${extension}?${query}`, `rectification-ledger.${extension}`);
  } catch (error) {
    showError(error);
  }
}

function steps(entry) {
  if (!entry.history.length) return "";
  return el("details", {}, el("summary", {}, `${t("steps")} (${entry.history.length})`),
    el("ol", {}, ...entry.history.map((s) => el("li", {}, `${s.on} ${lang === "zh" ? s.label : s.kind} · ${s.actor} · ${s.detail}`))));
}

/** Draw the ledger; returns the live refresh. */
export async function mount(main) {
  const status = params().get("status") || "";
  const overdue = params().get("overdue") || "";
  const body = el("div", {});
  main.replaceChildren(el("h1", {}, t("nav_ledger")), filters(status, overdue), body);

  async function draw() {
    const data = await api("/views/ledger", { status, overdue, offset: offsetParam(), limit: pageSize() });
    const summary = el("div", { class: "cards" },
      el("div", { class: "card" }, el("div", { class: "label" }, t("open_count")), el("div", { class: "value" }, data.summary.open)),
      el("div", { class: "card alert" }, el("div", { class: "label" }, t("count_overdue")), el("div", { class: "value" }, data.summary.overdue)));
    const rows = data.entries.map((e) => el("tr", { "data-status": e.status },
      el("td", { class: "id", "data-label": t("number") },
        el("a", { href: `/dash/history?id=${encodeURIComponent(e.rectification_id)}` }, e.number || shortId(e.rectification_id))),
      el("td", { "data-label": t("source") }, e.source_inspection.label), el("td", { "data-label": t("problem") }, e.problem),
      el("td", { "data-label": t("department") }, e.responsible_unit_name),
      el("td", { "data-label": t("township") }, e.township_name || "—"),
      el("td", { "data-label": t("measures") }, e.measures_taken || e.measures),
      el("td", { class: "date", "data-label": t("deadline") }, e.deadline),
      el("td", { "data-label": t("status") }, el("span", { class: `badge ${e.overdue ? "bad" : e.status === "closed" ? "ok" : ""}` },
        lang === "zh" ? e.status_label : `${statusLabel(e.status)}${e.overdue ? ` (${t("overdue_n", { n: e.days_overdue })})` : ""}`)),
      el("td", { "data-label": t("steps") }, steps(e))));
    body.replaceChildren(el("p", { class: "muted" }, `${t("as_of")} ${data.today}`), summary,
      el("div", { class: "panel" }, pager(data), rows.length ? el("table", { id: "ledger", class: "cards-on-phone" },
        el("thead", {}, el("tr", {}, ...["number", "source", "problem", "department", "township", "measures", "deadline",
          "status", "steps"].map((k) => el("th", { scope: "col" }, t(k))))),
        el("tbody", {}, ...rows)) : el("p", {}, t("ledger_missing")),
      data.total > data.limit ? pager(data, "offset", "pager-bottom") : null));
  }
  await draw();
  return { refresh: draw };
}
