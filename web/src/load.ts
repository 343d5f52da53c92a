// How a windowed view gets its answer: the served data's range, the window the URL names,
// one query, and the checks every such view makes before it draws anything.
import { query, type Warning } from "./api";
import { h, notice } from "./dom";
import { isCurrent } from "./router";
import { dataInfo, failure, seenVersion, show } from "./shell";
import { type DataRange, type Window, windowOf } from "./state";

/** A windowed view's answer, with the data range and the window it was asked over. */
export interface Loaded<T> {
  data: T;
  warnings: Warning[];
  range: DataRange;
  win: Window;
}

const NO_DAYS = "The served data names no days yet. Publish a snapshot, then reload.";

/**
 * Ask `document` over the window `params` names; null when the view has already shown why there
 * is no answer (no days served, an error) or a newer render has taken over.
 */
export async function loadWindowed<T extends { dataVersion: string }>(
  run: number,
  params: URLSearchParams,
  document: string,
  variables: (win: Window) => Record<string, unknown>,
  noDays: string = NO_DAYS,
): Promise<Loaded<T> | null> {
  let loaded: Loaded<T>;
  try {
    const range = (await dataInfo()).dataRange;
    if (!range) {
      if (isCurrent(run)) show(notice("empty", noDays));
      return null;
    }
    const win = windowOf(params, range);
    const answer = await query<T>(document, variables(win));
    loaded = { data: answer.data, warnings: answer.warnings, range, win };
  } catch (error) {
    if (isCurrent(run)) failure(error);
    return null;
  }
  if (!isCurrent(run)) return null;
  seenVersion(loaded.data.dataVersion);
  return loaded;
}

/** The page's subject, named in the tab's title; null (shown as missing, with a way back to search) when there is none. */
export function subjectOf<T extends { name: string }>(subject: T | null, kind: string, id: string): T | null {
  if (!subject) {
    show(notice("empty", `There is no ${kind} ${id}.`, h("a", { href: "/" }, "Search for a title")));
    return null;
  }
  document.title = `${subject.name} — keyart`;
  return subject;
}
