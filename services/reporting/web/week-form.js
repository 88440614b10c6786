// The home-visit form (入户调研), drawn from the registry's survey form when it serves one
// (GET /survey-forms/current?year=), else the simple visit body. Generic over the form's JSON:
// sections of items, each answered by type (choice, multi, yesno, number, date, text), required,
// max_length, shown only when another item's answer is one of show_if.any_of (the same skip rules
// the registry applies), an item's needs_code added to the visit's needs when the answer is yes.
import { authorizedFetch, el, registryBase } from "./core.js";
import { need } from "./i18n.js";
import { label, w } from "./week-text.js";

const MODES = ["home", "face_to_face", "phone", "lost_to_follow_up"];
const NEED_CODES = ["rehabilitation", "assistive_devices", "education", "employment", "living_subsidy", "care_services",
  "barrier_free", "medical", "legal_aid", "culture_sports", "social_security", "housing", "other"];
const RESPONDENTS = ["self", "family", "other"];
const FORM_KEY = "qd.week.form."; // the last survey form fetched, per year (the service worker keeps it too)

/** The registry's current survey form for ``year``, or null when it serves none (404) or cannot be reached. */
export async function loadForm(year) {
  try {
    const response = await authorizedFetch(`${registryBase()}/survey-forms/current?year=${year}`);
    if (response.status === 404) { localStorage.removeItem(FORM_KEY + year); return null; }
    if (response.ok) {
      const form = await response.json();
      localStorage.setItem(FORM_KEY + year, JSON.stringify(form));
      return form;
    }
  } catch { /* offline: the last copy, if any */ }
  const kept = localStorage.getItem(FORM_KEY + year);
  return kept ? JSON.parse(kept) : null;
}

const today = () => new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);

function field(labelText, control, id) {
  return el("label", { for: id, class: "field" }, el("span", {}, labelText), control);
}

function radios(name, options, required) {
  return el("div", { class: "choices", role: "radiogroup" }, ...options.map(([value, text]) =>
    el("label", {}, el("input", { type: "radio", name, value, required }), text)));
}

function checks(name, options) {
  return el("div", { class: "choices" }, ...options.map(([value, text]) =>
    el("label", {}, el("input", { type: "checkbox", name, value }), text)));
}

/** One item of a survey form as a control; its answer is read back by :func:`answerOf`. */
function itemControl(item) {
  const name = `item-${item.code}`;
  const options = (item.options || []).map((o) => [o.code, label(o)]);
  let control;
  switch (item.answer_type) {
    case "choice": control = radios(name, options, false); break;
    case "multi": control = checks(name, options); break;
    case "yesno": control = radios(name, [["yes", w("yes")], ["no", w("no")]], false); break;
    case "number": control = el("input", { type: "number", name, id: name, step: "any" }); break;
    case "date": control = el("input", { type: "date", name, id: name }); break;
    default: control = el("textarea", { name, id: name, rows: 2, maxlength: item.max_length || null });
  }
  return el("div", { class: "item", "data-item": item.code, "data-required": item.required ? "yes" : null },
    el("div", { class: "item-label" }, label(item), item.required ? " *" : ""), control);
}

/** The answer to one item as the registry takes it; undefined when unanswered. */
function answerOf(form, item) {
  const name = `item-${item.code}`;
  const inputs = [...form.querySelectorAll(`[name="${name}"]`)];
  switch (item.answer_type) {
    case "multi": { const v = inputs.filter((i) => i.checked).map((i) => i.value); return v.length ? v : undefined; }
    case "choice": return inputs.find((i) => i.checked)?.value;
    case "yesno": { const v = inputs.find((i) => i.checked)?.value; return v === undefined ? undefined : v === "yes"; }
    case "number": return inputs[0].value === "" ? undefined : Number(inputs[0].value);
    default: return inputs[0].value.trim() === "" ? undefined : inputs[0].value.trim();
  }
}

/** Whether ``value`` (any answer type) is one of ``anyOf`` (codes; a yes/no answer as "yes"/"no"). */
function matches(value, anyOf) {
  if (value === undefined) return false;
  const values = Array.isArray(value) ? value : [typeof value === "boolean" ? (value ? "yes" : "no") : String(value)];
  return values.some((v) => anyOf.includes(v));
}

function items(survey) {
  return survey.sections.flatMap((s) => s.items);
}

/** Items shown given the answers so far: show_if names an earlier item, itself shown, answered one of any_of. */
export function visibleItems(survey, answerFor) {
  const shown = new Set();
  for (const item of items(survey)) {
    const rule = item.show_if;
    if (!rule || (shown.has(rule.item) && matches(answerFor(rule.item), rule.any_of))) shown.add(item.code);
  }
  return shown;
}

/**
 * The visit form for one person, as a <form>. ``submit(body)`` receives the visit body (without
 * ``expected_version``); it is called only when the answers pass the form's own checks.
 */
export function renderVisitForm(survey, person, submit, cancel) {
  const message = el("p", { class: "error-text", role: "alert", id: "visit-message" });
  const mode = el("select", { id: "visit-mode", name: "mode" },
    ...MODES.map((m) => el("option", { value: m }, w(`mode_${m}`))));
  const visited = el("input", { type: "date", id: "visit-date", name: "visited_on", value: today(), max: today(), required: true });
  const parts = [field(w("visited_on"), visited, "visit-date"), field(w("mode"), mode, "visit-mode")];
  let answersBox = null;
  let lostBox = null;
  if (survey) {
    const respondent = el("select", { id: "visit-respondent", name: "respondent" },
      ...RESPONDENTS.map((r) => el("option", { value: r }, w(`respondent_${r}`))));
    lostBox = field(w("lost_reason"), el("textarea", { id: "visit-lost-reason", name: "lost_reason", rows: 2, maxlength: 500 }),
      "visit-lost-reason");
    answersBox = el("div", { id: "visit-answers" }, ...survey.sections.map((section) =>
      el("fieldset", { "data-section": section.code }, el("legend", {}, label(section)), ...section.items.map(itemControl))));
    parts.push(el("p", { class: "muted" }, w("form_versioned", { title: label({ label_zh: survey.title_zh,
      label_en: survey.title_en, code: survey.form_id }), version: survey.version })),
    field(w("respondent"), respondent, "visit-respondent"), lostBox, answersBox);
  } else {
    answersBox = el("div", { id: "visit-answers" },
      el("fieldset", {}, el("legend", {}, w("needs")), checks("needs", NEED_CODES.map((c) => [c, need(c)]))),
      ...["what_they_need", "what_they_can_do", "what_we_can_do"].map((k) =>
        field(w(k), el("textarea", { id: `visit-${k}`, name: k, rows: 2, maxlength: 2000 }), `visit-${k}`)));
    parts.push(el("p", { class: "muted" }, w("form_simple")), answersBox);
  }
  const form = el("form", { id: "visit-form", novalidate: true },
    el("h2", {}, w("form_title", { person: person.label })), ...parts, message,
    el("div", { class: "actions" },
      el("button", { type: "submit", class: "primary", id: "visit-save" }, w("save_visit")),
      el("button", { type: "button", id: "visit-cancel", onclick: cancel }, w("cancel"))));
  const byCode = survey ? Object.fromEntries(items(survey).map((i) => [i.code, i])) : {};
  const answerFor = (code) => (byCode[code] ? answerOf(form, byCode[code]) : undefined);

  function apply() { // skip rules and the 失访 switch, applied as the officer answers
    const lost = mode.value === "lost_to_follow_up";
    answersBox.hidden = lost;
    if (lostBox) lostBox.hidden = !lost;
    if (!survey) return;
    const shown = visibleItems(survey, answerFor);
    for (const node of form.querySelectorAll("[data-item]")) node.hidden = !shown.has(node.dataset.item);
  }
  form.addEventListener("change", apply);
  form.addEventListener("input", apply);
  apply();

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const lost = mode.value === "lost_to_follow_up";
    const missing = [];
    if (!visited.value) missing.push(w("visited_on"));
    const body = { visited_on: visited.value, mode: mode.value, needs: [] };
    if (survey) {
      body.form_id = survey.form_id;
      body.form_version = survey.version;
      body.respondent = form.querySelector("#visit-respondent").value;
      body.answers = {};
      if (lost) {
        body.lost_reason = form.querySelector("#visit-lost-reason").value.trim();
        if (!body.lost_reason) missing.push(w("lost_reason"));
      } else {
        const shown = visibleItems(survey, answerFor);
        for (const item of items(survey)) {
          if (!shown.has(item.code)) continue; // skipped: never sent
          const value = answerOf(form, item);
          if (value === undefined) { if (item.required) missing.push(label(item)); continue; }
          if (item.max_length && typeof value === "string" && value.length > item.max_length) {
            message.textContent = w("too_long", { field: label(item), n: item.max_length });
            return;
          }
          body.answers[item.code] = value;
          if (item.needs_code && (value === true || (Array.isArray(value) ? value.length : value && value !== "no"))) {
            if (!body.needs.includes(item.needs_code)) body.needs.push(item.needs_code);
          }
        }
      }
    } else if (!lost) {
      body.needs = [...form.querySelectorAll('[name="needs"]:checked')].map((i) => i.value);
      for (const k of ["what_they_need", "what_they_can_do", "what_we_can_do"]) body[k] = form.querySelector(`#visit-${k}`).value.trim();
    }
    if (missing.length) { message.textContent = w("required_missing", { fields: missing.join("、") }); return; }
    message.textContent = "";
    submit(body);
  });
  return form;
}
