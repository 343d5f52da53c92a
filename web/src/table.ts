// Tables with a caption and a CSV export button: every table of the dashboard is one of these.
import { h } from "./dom";

export interface Column<R> {
  label: string;
  /** What the cell shows. */
  show: (row: R) => string | Node;
  /** What the CSV holds (raw numbers, not formatted text); defaults to the shown text. */
  csv?: (row: R) => string | number | null | undefined;
  numeric?: boolean;
}

function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV of the rows, header first. */
export function toCsv<R>(columns: Column<R>[], rows: R[]): string {
  const lines = [columns.map((c) => csvCell(c.label)).join(",")];
  for (const row of rows) {
    lines.push(
      columns
        .map((c) => {
          if (c.csv) return csvCell(c.csv(row));
          const shown = c.show(row);
          return csvCell(typeof shown === "string" ? shown : (shown.textContent ?? ""));
        })
        .join(","),
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function table<R>(caption: string, file: string, columns: Column<R>[], rows: R[], testid: string): HTMLElement {
  const head = h("tr", {}, ...columns.map((c) => h("th", { scope: "col", class: c.numeric ? "num" : null }, c.label)));
  const body = rows.map((row) =>
    h("tr", {}, ...columns.map((c) => h("td", { class: c.numeric ? "num" : null }, c.show(row)))),
  );
  const exportButton = h(
    "button",
    { type: "button", class: "csv", "data-testid": `${testid}-csv`, onclick: () => download(file, toCsv(columns, rows)) },
    `Export CSV`,
  );
  exportButton.setAttribute("aria-label", `Export ${caption} as CSV`);
  return h(
    "section",
    { class: "table-block" },
    h("div", { class: "table-head" }, h("h2", {}, caption), exportButton),
    h(
      "div",
      { class: "scroll" },
      h("table", { "data-testid": testid }, h("caption", { class: "sr-only" }, caption), h("thead", {}, head), h("tbody", {}, ...body)),
    ),
  );
}
