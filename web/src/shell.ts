// The frame around every view: the data version and date range in the header, the main
// region, and errors that say what to do (with the API key form when a key is needed).
import { ApiError, apiKey, query, setApiKey, type Warning } from "./api";
import { h, notice } from "./dom";
import { render } from "./router";
import type { DataRange } from "./state";

interface Info {
  dataRange: DataRange | null;
  dataVersion: string;
}

let info: Info | null = null;

const INFO_QUERY = /* GraphQL */ `
  query DashboardInfo {
    dataRange { first last days }
    dataVersion
  }
`;

function showInfo(current: Info): void {
  const range = current.dataRange;
  const target = document.getElementById("data-info");
  if (!target) return;
  target.replaceChildren(
    h("span", {}, "Data ", h("strong", { "data-testid": "data-version" }, current.dataVersion)),
    " · ",
    range
      ? h("span", { "data-testid": "data-range" }, `${range.first} → ${range.last} (${range.days} days)`)
      : h("span", {}, "date range unknown"),
  );
}

/** The data range and version, asked once per page load (again when a view sees a newer version). */
export async function dataInfo(): Promise<Info> {
  if (!info) {
    info = (await query<Info>(INFO_QUERY)).data;
    showInfo(info);
  }
  return info;
}

/** A view's answer named this data version: refresh the header when it changed. */
export function seenVersion(version: string): void {
  if (info && info.dataVersion !== version) {
    info = null;
    void dataInfo();
  }
}

export function main(): HTMLElement {
  return document.getElementById("main") as HTMLElement;
}

export function show(...nodes: Node[]): void {
  main().replaceChildren(...nodes);
}

export function loading(what: string): void {
  show(notice("loading", `Loading ${what}…`));
}

export function warnings(list: Warning[]): HTMLElement | null {
  if (!list.length) return null;
  return h(
    "ul",
    { class: "warnings", "aria-label": "Warnings about this answer", "data-testid": "warnings" },
    ...list.map((w) => h("li", {}, w.message)),
  );
}

function keyForm(): HTMLElement {
  const input = h("input", { id: "api-key", type: "password", autocomplete: "off", required: true });
  return h(
    "form",
    {
      class: "key-form",
      onsubmit: (event: Event) => {
        event.preventDefault();
        setApiKey(input.value.trim() || null);
        info = null;
        void render();
      },
    },
    h("label", { for: "api-key" }, "API key"),
    input,
    h("button", { type: "submit" }, "Use this key"),
    h("p", { class: "hint" }, "Kept in this browser tab only (sessionStorage)."),
  );
}

/** What went wrong and what to do about it, as a notice (with the key form when a key is needed). */
export function problemNotice(error: unknown): HTMLElement {
  const problem =
    error instanceof ApiError ? error : new ApiError("Something went wrong in the dashboard. Reload the page.", false);
  const extra: Node[] = [];
  if (problem.needsKey) extra.push(keyForm());
  else extra.push(h("button", { type: "button", onclick: () => void render() }, "Retry"));
  if (apiKey() && !problem.needsKey) {
    extra.push(
      h("button", { type: "button", class: "link", onclick: () => { setApiKey(null); void render(); } }, "Forget the API key"),
    );
  }
  return notice("error", problem.message, ...extra);
}

/** Show what went wrong and what to do about it, in place of the view. */
export function failure(error: unknown): void {
  show(problemNotice(error));
}
