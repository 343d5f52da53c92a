// Compare 2–4 assets side by side over one window: metrics, lift with its interval, the
// probability of being better and the significance in words.
import { filterPicker, paramPicker, toolbar, windowPicker } from "./controls";
import { h, notice } from "./dom";
import { count, type Estimate, estimateCount, estimatePercent, estimateRatio, percent, ratio } from "./format";
import { loadWindowed } from "./load";
import { currentRun } from "./router";
import { show, warnings } from "./shell";
import { filterOf, idsOf } from "./state";
import { table } from "./table";

interface Entry {
  asset: { id: string; name: string; mediaUrl: string | null; title: { id: string; name: string } };
  metrics: { impressions: number; uniqueImpressions: Estimate; takeRate: Estimate | null; authenticity: number | null };
  takeRateLift: Estimate | null;
  probabilityBetter: number;
  significant: boolean;
}

interface CompareData {
  dataVersion: string;
  affinities: string[];
  compare: { baseline: { id: string; name: string }; entries: Entry[] };
}

const COMPARE = /* GraphQL */ `
  query CompareAssets($ids: [ID!]!, $window: DateRange!, $filter: MetricFilter, $baseline: ID) {
    dataVersion
    affinities
    compare(assets: $ids, window: $window, filter: $filter, baseline: $baseline) {
      baseline { id name }
      entries {
        asset { id name mediaUrl title { id name } }
        metrics { impressions uniqueImpressions { value lower upper } takeRate { value lower upper } authenticity }
        takeRateLift { value lower upper }
        probabilityBetter
        significant
      }
    }
  }
`;

/** The comparison against the baseline, said in words. */
export function verdict(entry: Entry, baselineId: string): string {
  if (entry.asset.id === baselineId) return "Baseline";
  if (!entry.takeRateLift) return "Not enough data to compare";
  if (!entry.significant) return "No significant difference";
  return entry.takeRateLift.value > 1 ? "Significantly better than the baseline" : "Significantly worse than the baseline";
}

export async function compareView(_match: RegExpMatchArray, params: URLSearchParams): Promise<void> {
  const run = currentRun();
  const ids = idsOf(params);
  if (ids.length < 2 || ids.length > 4) {
    show(
      h("h1", {}, "Compare assets"),
      notice(
        "empty",
        ids.length > 4
          ? "Compare at most 4 assets at once. Remove some from the list."
          : "Pick 2–4 assets to compare: open a title, tick “Compare” on its assets, then follow “Compare”.",
        h("a", { href: "/" }, "Search for a title"),
      ),
    );
    return;
  }
  const loaded = await loadWindowed<CompareData>(run, params, COMPARE, (win) => ({
    ids,
    window: win,
    filter: filterOf(params),
    baseline: params.get("baseline") || null,
  }));
  if (!loaded) return;
  const { data, warnings: answerWarnings, range, win } = loaded;
  const { baseline, entries } = data.compare;
  const baselinePicker = paramPicker(
    "baseline",
    "Baseline",
    entries.map((e) => ({ value: e.asset.id, label: e.asset.name, selected: e.asset.id === baseline.id })),
  );
  show(
    h("p", { class: "crumbs" }, h("a", { href: "/" }, "Search"), " › Compare"),
    h("h1", {}, `Compare ${entries.length} assets`),
    toolbar(windowPicker(range, win), baselinePicker, filterPicker("affinities", "Affinity", data.affinities)),
    ...[warnings(answerWarnings)].filter((n): n is HTMLElement => n !== null),
    h(
      "ul",
      { class: "grid compare" },
      ...entries.map((e) =>
        h(
          "li",
          { class: "card" },
          e.asset.mediaUrl ? h("img", { src: e.asset.mediaUrl, alt: `Artwork: ${e.asset.name}`, width: 240, height: 135 }) : h("div", { class: "no-media" }, "No artwork on file"),
          h("h3", {}, h("a", { href: `/asset/${encodeURIComponent(e.asset.id)}` }, e.asset.name)),
          h("p", { class: `verdict ${e.significant ? "significant" : ""}` }, verdict(e, baseline.id)),
          e.asset.id === baseline.id
            ? null
            : h(
                "p",
                { class: "meta" },
                `Take rate lift ${estimateRatio(e.takeRateLift)}; ${percent(e.probabilityBetter, 0)} probability of being better`,
              ),
        ),
      ),
    ),
    table(
      `Comparison against ${baseline.name}, ${win.start} → ${win.end}`,
      `compare_${win.start}_${win.end}.csv`,
      [
        { label: "Asset", show: (e: Entry) => e.asset.name },
        { label: "ID", show: (e) => e.asset.id },
        { label: "Title", show: (e) => e.asset.title.name },
        { label: "Impressions", show: (e) => count(e.metrics.impressions), csv: (e) => e.metrics.impressions, numeric: true },
        { label: "Unique impressions", show: (e) => estimateCount(e.metrics.uniqueImpressions), csv: (e) => e.metrics.uniqueImpressions.value, numeric: true },
        { label: "Take rate", show: (e) => estimatePercent(e.metrics.takeRate), csv: (e) => e.metrics.takeRate?.value, numeric: true },
        { label: "Authenticity", show: (e) => percent(e.metrics.authenticity), csv: (e) => e.metrics.authenticity, numeric: true },
        { label: "Lift vs baseline", show: (e) => estimateRatio(e.takeRateLift), csv: (e) => e.takeRateLift?.value, numeric: true },
        { label: "Lift (low)", show: (e) => ratio(e.takeRateLift?.lower), csv: (e) => e.takeRateLift?.lower, numeric: true },
        { label: "Lift (high)", show: (e) => ratio(e.takeRateLift?.upper), csv: (e) => e.takeRateLift?.upper, numeric: true },
        { label: "Probability better", show: (e) => percent(e.probabilityBetter, 1), csv: (e) => e.probabilityBetter, numeric: true },
        { label: "Significance", show: (e) => verdict(e, baseline.id) },
      ],
      entries,
      "compare",
    ),
  );
}
