// The window picker and filter pickers every data view shares; each change is a new URL.
import { h } from "./dom";
import { navigate } from "./router";
import { type DataRange, type Window, PRESETS, preset, withParams } from "./state";

export function windowPicker(range: DataRange, current: Window): HTMLElement {
  const params = new URLSearchParams(window.location.search);
  const chosen = preset(params);
  const select = h(
    "select",
    {
      id: "window",
      "data-testid": "window",
      onchange: (event: Event) => {
        const value = (event.target as HTMLSelectElement).value;
        navigate(
          withParams(
            value === "custom"
              ? { window: value, start: current.start, end: current.end }
              : { window: value, start: null, end: null },
          ),
        );
      },
    },
    ...PRESETS.map((p) => h("option", { value: p.value, selected: p.value === chosen }, p.label)),
  );
  const parts: HTMLElement[] = [h("label", { for: "window" }, "Window"), select];
  if (chosen === "custom") {
    const dateInput = (id: string, label: string, value: string, name: "start" | "end") => [
      h("label", { for: id }, label),
      h("input", {
        id,
        type: "date",
        value,
        min: range.first,
        max: range.last,
        onchange: (event: Event) => navigate(withParams({ [name]: (event.target as HTMLInputElement).value })),
      }),
    ];
    parts.push(...dateInput("start", "From", current.start, "start"), ...dateInput("end", "To", current.end, "end"));
  }
  parts.push(h("span", { class: "window-shown", "data-testid": "window-shown" }, `${current.start} → ${current.end}`));
  return h("div", { class: "control" }, ...parts);
}

/** One option of a picker: the URL parameter's value, its label, and whether it is the current one. */
export interface Choice {
  value: string;
  label: string;
  selected: boolean;
}

/** A single-choice picker kept in the URL parameter `name` (element id `id`); each change is a new URL. */
export function paramPicker(name: string, label: string, choices: Choice[], id: string = name, testId?: string): HTMLElement {
  return h(
    "div",
    { class: "control" },
    h("label", { for: id }, label),
    h(
      "select",
      {
        id,
        "data-testid": testId,
        onchange: (event: Event) => navigate(withParams({ [name]: (event.target as HTMLSelectElement).value })),
      },
      ...choices.map((c) => h("option", { value: c.value, selected: c.selected }, c.label)),
    ),
  );
}

/** A single-choice picker of one filter field ("" = all), kept in the URL parameter `name`. */
export function filterPicker(name: string, label: string, options: string[]): HTMLElement {
  const current = new URLSearchParams(window.location.search).get(name) ?? "";
  const id = `filter-${name}`;
  return paramPicker(
    name,
    label,
    [{ value: "", label: "All", selected: false }, ...options.map((o) => ({ value: o, label: o, selected: o === current }))],
    id,
    id,
  );
}

export function toolbar(...controls: HTMLElement[]): HTMLElement {
  return h("form", { class: "toolbar", onsubmit: (e: Event) => e.preventDefault() }, ...controls);
}
