// 覆盖率: the district at a glance, a chart per township (or village), drill-down, persons to follow up.
import { barChart, legend, PALETTE } from "./charts.js";
import { api, el, offsetParam, pager, pageSize, params, pct, setParams, shortId } from "./core.js";
import { category, lostReason, t } from "./i18n.js";

const GROUPS = ["all", "severe", "hardship"];
const MEASURES = ["attempted", "visited", "lost", "planned", "delivered"];
const CHARTED = ["visited", "planned", "delivered"];

function cards(unit) {
  const all = unit.all;
  return el("div", { class: "cards", id: "figures" },
    el("div", { class: "card", "data-measure": "registered" },
      el("div", { class: "label" }, t("registered")), el("div", { class: "value" }, all.registered)),
    ...MEASURES.map((m) => el("div", { class: "card", "data-measure": m },
      el("div", { class: "label" }, t(m)), el("div", { class: "value" }, all[m]),
      el("div", { class: "rate" }, pct(all[`${m}_rate`])))));
}

function groupsTable(unit) {
  return el("table", { id: "groups" },
    el("caption", { class: "muted" }, `${t("group_severe")} / ${t("group_hardship")}`),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("group")),
      el("th", { scope: "col", class: "num" }, t("registered")),
      ...MEASURES.map((m) => el("th", { scope: "col", class: "num" }, t(m))))),
    el("tbody", {}, ...GROUPS.map((g) => el("tr", { "data-group": g },
      el("th", { scope: "row" }, t(`group_${g}`)), el("td", { class: "num" }, unit[g].registered),
      ...MEASURES.map((m) => el("td", { class: "num" }, `${unit[g][m]} (${pct(unit[g][`${m}_rate`])})`))))));
}

function childrenPanel(unit) {
  const children = unit.children || [];
  if (!children.length) return null;
  const series = CHARTED.map((m, i) => ({ name: t(m), color: PALETTE[i] }));
  const rows = children.map((c) => ({ label: c.name, values: CHARTED.map((m) => c.all[`${m}_rate`]),
    onSelect: c.level !== "village" ? () => setParams({ unit: c.code, poffset: null }) : null }));
  return el("section", { class: "panel", "aria-labelledby": "chart-title" },
    el("h2", { id: "chart-title" }, `${t("by_unit_chart")} · ${unit.name}`),
    legend(series),
    el("div", { class: "chart" }, barChart({ rows, series, title: `${t("by_unit_chart")} ${unit.name}` })),
    el("table", { id: "children" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("unit")),
        el("th", { scope: "col", class: "num" }, t("registered")),
        ...MEASURES.map((m) => el("th", { scope: "col", class: "num" }, t(m))),
        el("th", { scope: "col", class: "num" }, `${t("group_severe")}: ${t("visited")}`))),
      el("tbody", {}, ...children.map((c) => el("tr", { "data-code": c.code },
        el("th", { scope: "row" }, c.level !== "village"
          ? el("a", { href: `?${new URLSearchParams({ ...Object.fromEntries(params()), unit: c.code })}`,
            class: "drill", onclick: (e) => { e.preventDefault(); setParams({ unit: c.code, poffset: null }); } }, c.name)
          : c.name),
        el("td", { class: "num" }, c.all.registered),
        ...MEASURES.map((m) => el("td", { class: "num" }, `${c.all[m]} (${pct(c.all[`${m}_rate`])})`)),
        el("td", { class: "num" }, `${c.severe.visited}/${c.severe.registered}`))))));
}

function reasonsPanel(unit) {
  const reasons = Object.entries(unit.all.lost_reasons || {});
  return el("section", { class: "panel", id: "lost-reasons", "aria-labelledby": "lost-reasons-title" },
    el("h2", { id: "lost-reasons-title" }, `${t("lost_reasons")} · ${unit.all.lost}`),
    reasons.length ? el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("reason")),
        el("th", { scope: "col", class: "num" }, t("persons_n")))),
      el("tbody", {}, ...reasons.map(([code, n]) => el("tr", { "data-reason": code },
        el("th", { scope: "row" }, lostReason(code)), el("td", { class: "num" }, n)))))
      : el("p", {}, t("none")),
    el("p", { class: "note" }, t("lost_reasons_note")));
}

function crumbs(trail) {
  return el("nav", { class: "crumbs", "aria-label": t("unit") }, ...trail.flatMap((u, i) => [
    i ? el("span", { "aria-hidden": "true" }, "›") : null,
    i === trail.length - 1 ? el("span", { "aria-current": "location" }, u.name)
      : el("button", { type: "button", class: "link", onclick: () => setParams({ unit: u.code === trail[0].code ? null : u.code, poffset: null }) }, u.name),
  ]));
}

function personsPanel(data, missing) {
  const yesNo = (v) => (v ? t("yes") : t("no"));
  return el("section", { class: "panel", id: "persons", "aria-labelledby": "persons-title" },
    el("h2", { id: "persons-title" }, t("follow_up")),
    el("div", { class: "controls no-print" }, el("label", {}, t("window"),
      el("select", { id: "missing", onchange: (e) => setParams({ missing: e.target.value, poffset: null }) },
        ...["any", "visit", "plan"].map((m) => el("option", { value: m, selected: m === missing }, t(`missing_${m}`))))),
      ...["severe", "hardship"].map((flag) => el("label", { class: "check" },
        el("input", { id: `only-${flag}`, type: "checkbox", checked: params().get(flag) === "true",
          onchange: (e) => setParams({ [flag]: e.target.checked ? "true" : null, poffset: null }) }), t(`only_${flag}`)))),
    pager(data, "poffset", "persons-pager"),
    data.persons.length ? el("table", {},
      el("thead", {}, el("tr", {}, ...["person_id", "township", "village", "category", "grade", "severe", "hardship",
        "visited", "planned"].map((k) => el("th", { scope: "col" }, t(k))))),
      el("tbody", {}, ...data.persons.map((p) => el("tr", {},
        el("td", {}, el("a", { class: "id", href: `/dash/history?id=${p.person_id}`, title: p.person_id }, shortId(p.person_id))),
        el("td", {}, p.township_name || p.township_code), el("td", {}, p.village_name || p.village_code),
        el("td", {}, category(p.category)), el("td", {}, p.grade),
        el("td", {}, p.severe ? el("span", { class: "badge bad" }, t("severe")) : ""),
        el("td", {}, p.hardship ? el("span", { class: "badge warn" }, t("hardship")) : ""),
        el("td", { title: p.lost_reason ? lostReason(p.lost_reason) : "" },
          p.lost_to_follow_up ? t("lost") : yesNo(p.visited)), el("td", {}, yesNo(p.planned))))))
      : el("p", {}, t("none")),
    el("p", { class: "note" }, t("names_note")));
}

function rehabilitationPanel(rehab) {
  const target = pct(rehab.target);
  const status = rehab.meets_target === null ? "" : rehab.meets_target ? "ok" : "bad";
  const below = rehab.below_target;
  return el("section", { class: "panel", id: "rehabilitation", "aria-labelledby": "rehab-title" },
    el("h2", { id: "rehab-title" }, t("rehab_title")),
    el("div", { class: "cards" },
      el("div", { class: "card", "data-measure": "with_need" },
        el("div", { class: "label" }, t("rehab_with_need")), el("div", { class: "value" }, rehab.with_need)),
      el("div", { class: "card", "data-measure": "received" },
        el("div", { class: "label" }, t("rehab_received")), el("div", { class: "value" }, rehab.received)),
      el("div", { class: "card", "data-measure": "rehab_rate" },
        el("div", { class: "label" }, t("rehab_rate")),
        el("div", { class: "value", id: "rehab-rate" }, pct(rehab.rate)),
        el("div", { class: "rate" }, status ? el("span", { class: `badge ${status}` }, t("rehab_target", { target }))
          : t("rehab_target", { target })))),
    el("h3", {}, t("rehab_below")),
    below.length ? el("table", { id: "rehab-below" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("unit")), el("th", { scope: "col" }, t("level")),
        el("th", { scope: "col", class: "num" }, t("rehab_with_need")),
        el("th", { scope: "col", class: "num" }, t("rehab_received")),
        el("th", { scope: "col", class: "num" }, t("rehab_rate")))),
      el("tbody", {}, ...below.map((u) => el("tr", { "data-code": u.code },
        el("th", { scope: "row" }, u.name), el("td", {}, t(`level_${u.level}`)),
        el("td", { class: "num" }, u.with_need), el("td", { class: "num" }, u.received),
        el("td", { class: "num" }, el("span", { class: "badge bad" }, pct(u.rate)))))))
      : el("p", {}, t("rehab_none_below")),
    el("p", { class: "note" }, t("rehab_note")));
}

/** Draw the coverage page; returns the live refresh. */
export async function mount(main) {
  const year = params().get("year") || String(new Date().getFullYear());
  const unit = params().get("unit");
  const missing = params().get("missing") || "any";
  const body = el("div", {});
  const controls = el("div", { class: "controls no-print" },
    el("label", {}, t("year"), el("input", { id: "year", type: "number", min: 2000, max: 2100, value: year,
      onchange: (e) => setParams({ year: e.target.value }) })));
  main.replaceChildren(el("h1", {}, t("nav_coverage")), controls, body);

  async function draw() {
    const [view, district, persons, rehab] = await Promise.all([
      api("/views/coverage", { year, unit, depth: 1 }),
      unit ? api("/views/coverage", { year, depth: 0 }) : null,
      api("/views/coverage/persons", { year, unit, missing, severe: params().get("severe"),
        hardship: params().get("hardship"), offset: offsetParam("poffset"),
        limit: pageSize() }),
      api("/views/rehabilitation", { year, unit, depth: 0 })]);
    const trail = [district || view];
    if (unit && view.level === "village") {
      const township = await api("/views/coverage", { year, unit: `${unit.slice(0, 9)}000`, depth: 0 });
      trail.push(township);
    }
    if (unit) trail.push(view);
    body.replaceChildren(crumbs(trail), el("h2", {}, `${view.name} · ${year}`), cards(view),
      el("div", { class: "panel" }, groupsTable(view)), childrenPanel(view), reasonsPanel(view), rehabilitationPanel(rehab),
      personsPanel(persons, missing));
  }
  await draw();
  return { refresh: draw };
}
