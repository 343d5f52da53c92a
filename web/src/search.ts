// Find a title: search as you type, most recent launches first.
import { query } from "./api";
import { h, notice } from "./dom";
import { currentRun, isCurrent, navigate } from "./router";
import { dataInfo, failure, show, warnings } from "./shell";
import { withParams } from "./state";
import { table } from "./table";

interface TitleRow {
  id: string;
  name: string;
  kind: string;
  launchDate: string | null;
  genres: string[];
}

interface SearchData {
  titles: { totalCount: number; edges: { node: TitleRow }[] };
}

const SEARCH = /* GraphQL */ `
  query SearchTitles($search: String) {
    titles(first: 25, search: $search, orderBy: LAUNCH_DATE_DESC) {
      totalCount
      edges { node { id name kind launchDate genres } }
    }
  }
`;

let typing: number | undefined;

export async function searchView(_match: RegExpMatchArray, params: URLSearchParams): Promise<void> {
  const run = currentRun();
  const q = params.get("q") ?? "";
  let found: SearchData;
  let answerWarnings;
  try {
    await dataInfo();
    const answer = await query<SearchData>(SEARCH, { search: q || null });
    found = answer.data;
    answerWarnings = answer.warnings;
  } catch (error) {
    if (isCurrent(run)) failure(error);
    return;
  }
  if (!isCurrent(run)) return;
  // the redraw replaces the input: focus returns to it only when the user was typing in it
  // (focusing it on a fresh page would put the first Tab past the skip link)
  const active = document.activeElement;
  const wasTyping = active instanceof HTMLInputElement && active.id === "search";
  const input = h("input", {
    id: "search",
    type: "search",
    value: q,
    placeholder: "Title name",
    autocomplete: "off",
    "data-testid": "search",
    oninput: (event: Event) => {
      const value = (event.target as HTMLInputElement).value;
      window.clearTimeout(typing);
      typing = window.setTimeout(() => navigate(withParams({ q: value }, "/"), true), 200);
    },
  });
  const rows = found.titles.edges.map((e) => e.node);
  const results = rows.length
    ? table(
        q ? `Titles matching “${q}” (${found.titles.totalCount})` : `Recent launches (${found.titles.totalCount} titles)`,
        "titles.csv",
        [
          { label: "Title", show: (t) => h("a", { href: `/title/${encodeURIComponent(t.id)}` }, t.name), csv: (t) => t.name },
          { label: "ID", show: (t) => t.id },
          { label: "Kind", show: (t) => t.kind },
          { label: "Launch", show: (t) => t.launchDate ?? "—", csv: (t) => t.launchDate },
          { label: "Genres", show: (t) => t.genres.join(", ") },
        ],
        rows,
        "titles",
      )
    : notice("empty", `No title matches “${q}”. Try fewer letters or another spelling.`);
  show(
    h("h1", {}, "Find a title"),
    h(
      "form",
      { class: "search", role: "search", onsubmit: (e: Event) => e.preventDefault() },
      h("label", { for: "search" }, "Search titles"),
      input,
    ),
    ...[warnings(answerWarnings)].filter((n): n is HTMLElement => n !== null),
    results,
  );
  // keep typing where it was after the results redraw
  if (wasTyping) {
    input.focus();
    input.setSelectionRange(q.length, q.length);
  }
}
