// A title's page: its assets with artwork and metrics over a window and filter, the outliers
// and appeal badges, asset type tabs, and a selection to compare.
import { createAlertLink } from "./alerts";
import { errorBar } from "./bars";
import { filterPicker, toolbar, windowPicker } from "./controls";
import { h, notice } from "./dom";
import { count, type Estimate, estimateCount, estimatePercent, percent } from "./format";
import { loadWindowed, subjectOf } from "./load";
import { currentRun, navigate } from "./router";
import { show, warnings } from "./shell";
import { carried, describe, filterOf, withParams } from "./state";
import { table } from "./table";

interface AssetRow {
  id: string;
  name: string;
  type: "ARTWORK" | "VIDEO";
  mediaUrl: string | null;
  metrics: {
    impressions: number;
    uniqueImpressions: Estimate;
    takeRate: Estimate | null;
    authenticity: number | null;
  };
  appeal: { verdict: string; reason: string };
}

interface Outlier {
  asset: { id: string };
  direction: "HIGH" | "LOW";
  reason: string;
}

interface TitleData {
  dataVersion: string;
  title: {
    id: string;
    name: string;
    kind: string;
    launchDate: string | null;
    genres: string[];
    filterOptions: { countries: string[]; affinities: string[] };
    outliers: Outlier[];
    assets: AssetRow[];
  } | null;
}

const TITLE = /* GraphQL */ `
  query TitlePage($id: ID!, $window: DateRange!, $filter: MetricFilter, $type: AssetType) {
    dataVersion
    title(id: $id) {
      id name kind launchDate genres
      filterOptions { countries affinities }
      outliers(window: $window, filter: $filter) { asset { id } direction reason }
      assets(type: $type) {
        id name type mediaUrl
        metrics(window: $window, filter: $filter) {
          impressions
          uniqueImpressions { value lower upper }
          takeRate { value lower upper }
          authenticity
        }
        appeal(window: $window, filter: $filter) { verdict reason }
      }
    }
  }
`;

const TYPES = [
  { value: "", label: "All assets" },
  { value: "ARTWORK", label: "Artwork" },
  { value: "VIDEO", label: "Video" },
];

const BADGES: Record<string, string> = { CLICKBAIT: "Clickbait", AUTHENTIC_WINNER: "Authentic winner" };

/** The ids ticked for comparison, kept in the URL (`pick`). */
function picked(params: URLSearchParams): string[] {
  return (params.get("pick") ?? "").split(",").filter(Boolean);
}

function typeTabs(current: string): HTMLElement {
  return h(
    "nav",
    { class: "tabs", "aria-label": "Asset type" },
    ...TYPES.map((t) =>
      h(
        "a",
        { href: withParams({ type: t.value || null }), "aria-current": t.value === current ? "page" : null, class: "tab" },
        t.label,
      ),
    ),
  );
}

function card(
  asset: AssetRow,
  outlier: Outlier | undefined,
  maxUnique: number,
  maxRate: number,
  chosen: string[],
): HTMLElement {
  const m = asset.metrics;
  const badge = BADGES[asset.appeal.verdict];
  const ticked = chosen.includes(asset.id);
  const box = h("input", {
    type: "checkbox",
    id: `pick-${asset.id}`,
    checked: ticked,
    disabled: !ticked && chosen.length >= 4,
    "data-testid": `pick-${asset.id}`,
    onchange: () => {
      const next = ticked ? chosen.filter((id) => id !== asset.id) : [...chosen, asset.id];
      navigate(withParams({ pick: next.join(",") || null }), true);
    },
  });
  return h(
    "li",
    { class: "card", "data-testid": `card-${asset.id}` },
    asset.mediaUrl
      ? h("img", { src: asset.mediaUrl, alt: `${asset.type === "VIDEO" ? "Video still" : "Artwork"}: ${asset.name}`, width: 240, height: 135, loading: "lazy", decoding: "async" })
      : h("div", { class: "no-media" }, "No artwork on file"),
    h("h3", {}, h("a", { href: `/asset/${encodeURIComponent(asset.id)}${carried()}` }, asset.name)),
    h(
      "p",
      { class: "badges" },
      h("span", { class: "badge type" }, asset.type === "VIDEO" ? "Video" : "Artwork"),
      badge ? h("span", { class: `badge ${asset.appeal.verdict.toLowerCase()}`, title: asset.appeal.reason }, badge) : null,
      outlier ? h("span", { class: `badge outlier ${outlier.direction.toLowerCase()}`, title: outlier.reason }, `Outlier ${outlier.direction === "HIGH" ? "▲ high" : "▼ low"}`) : null,
    ),
    h(
      "dl",
      {},
      h("dt", {}, "Impressions"),
      h("dd", {}, count(m.impressions)),
      h("dt", {}, "Unique impressions"),
      h("dd", {}, estimateCount(m.uniqueImpressions), errorBar(m.uniqueImpressions, maxUnique, `Unique impressions between ${count(m.uniqueImpressions.lower)} and ${count(m.uniqueImpressions.upper)}`)),
      h("dt", {}, "Take rate"),
      h("dd", {}, estimatePercent(m.takeRate), errorBar(m.takeRate, maxRate, m.takeRate ? `Take rate between ${percent(m.takeRate.lower)} and ${percent(m.takeRate.upper)}` : "No take rate")),
      h("dt", {}, "Authenticity"),
      h("dd", {}, percent(m.authenticity)),
    ),
    h("p", { class: "pick" }, box, h("label", { for: `pick-${asset.id}` }, "Compare")),
  );
}

export async function titleView(match: RegExpMatchArray, params: URLSearchParams): Promise<void> {
  const run = currentRun();
  const id = decodeURIComponent(match[1]);
  const loaded = await loadWindowed<TitleData>(
    run,
    params,
    TITLE,
    (win) => ({ id, window: win, filter: filterOf(params), type: params.get("type") || null }),
    "The served data names no days yet. Publish a snapshot (keyart ingest / keyart publish), then reload.",
  );
  if (!loaded) return;
  const { data, warnings: answerWarnings, range, win } = loaded;
  const title = subjectOf(data.title, "title", id);
  if (!title) return;
  const outliers = new Map(title.outliers.map((o) => [o.asset.id, o]));
  const chosen = picked(params);
  const maxUnique = Math.max(0, ...title.assets.map((a) => a.metrics.uniqueImpressions.upper));
  const maxRate = Math.max(0, ...title.assets.map((a) => a.metrics.takeRate?.upper ?? 0));
  const compareLink =
    chosen.length >= 2
      ? h("a", { class: "button", href: withParams({ ids: chosen.join(","), pick: null, type: null }, "/compare"), "data-testid": "compare-link" }, `Compare ${chosen.length} assets`)
      : h("span", { class: "hint" }, "Tick 2–4 assets to compare them.");
  const grid = title.assets.length
    ? h("ul", { class: "grid", "aria-label": "Assets" }, ...title.assets.map((a) => card(a, outliers.get(a.id), maxUnique, maxRate, chosen)))
    : notice("empty", "This title has no assets of this type. Pick another tab.");
  show(
    h("p", { class: "crumbs" }, h("a", { href: "/" }, "Search"), " › ", title.name),
    h("h1", { "data-testid": "title-name" }, title.name),
    h("p", { class: "meta" }, `${title.kind} · launched ${title.launchDate ?? "—"} · ${title.genres.join(", ")}`),
    toolbar(
      windowPicker(range, win),
      filterPicker("countries", "Country", title.filterOptions.countries),
      filterPicker("affinities", "Affinity", title.filterOptions.affinities),
    ),
    ...[warnings(answerWarnings)].filter((n): n is HTMLElement => n !== null),
    typeTabs(params.get("type") ?? ""),
    h("p", { class: "compare-bar" }, compareLink, " · ", createAlertLink(title.id, title.name)),
    grid,
    table(
      `Assets of ${title.name}, ${win.start} → ${win.end}${describe(filterOf(params))}`,
      `${title.id}_${win.start}_${win.end}.csv`,
      [
        { label: "Asset", show: (a: AssetRow) => a.name },
        { label: "ID", show: (a) => a.id },
        { label: "Type", show: (a) => a.type },
        { label: "Impressions", show: (a) => count(a.metrics.impressions), csv: (a) => a.metrics.impressions, numeric: true },
        { label: "Unique impressions", show: (a) => count(a.metrics.uniqueImpressions.value), csv: (a) => a.metrics.uniqueImpressions.value, numeric: true },
        { label: "Unique (low)", show: (a) => count(a.metrics.uniqueImpressions.lower), csv: (a) => a.metrics.uniqueImpressions.lower, numeric: true },
        { label: "Unique (high)", show: (a) => count(a.metrics.uniqueImpressions.upper), csv: (a) => a.metrics.uniqueImpressions.upper, numeric: true },
        { label: "Take rate", show: (a) => estimatePercent(a.metrics.takeRate), csv: (a) => a.metrics.takeRate?.value, numeric: true },
        { label: "Authenticity", show: (a) => percent(a.metrics.authenticity), csv: (a) => a.metrics.authenticity, numeric: true },
        { label: "Appeal", show: (a) => a.appeal.verdict },
        { label: "Outlier", show: (a) => outliers.get(a.id)?.direction ?? "" },
      ],
      title.assets,
      "assets",
    ),
  );
}
