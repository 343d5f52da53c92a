// An asset's page: its time series with anomalies marked, and its affinity and country
// breakdowns, over a window and filter.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { createAlertLink } from "./alerts";
import { filterPicker, paramPicker, toolbar, windowPicker } from "./controls";
import { h, notice } from "./dom";
import { count, type Estimate, estimateCount, estimatePercent, percent, ratio } from "./format";
import { loadWindowed, subjectOf } from "./load";
import { currentRun } from "./router";
import { show, warnings } from "./shell";
import { carried, filterOf } from "./state";
import { table } from "./table";
import { PALETTE } from "./palette";

interface Point {
  date: string;
  metrics: { impressions: number; uniqueImpressions: Estimate; takeRate: Estimate | null };
}

interface Anomaly {
  date: string;
  direction: "HIGH" | "LOW";
  value: number;
  expected: number;
  score: number;
}

interface Breakdown {
  impressions: number;
  uniqueImpressions: Estimate;
  takeRate: Estimate | null;
}

interface AffinityRow {
  affinity: string;
  lift: number | null;
  metrics: Breakdown;
}

interface AssetData {
  dataVersion: string;
  asset: {
    id: string;
    name: string;
    type: string;
    mediaUrl: string | null;
    title: { id: string; name: string; filterOptions: { countries: string[]; affinities: string[] } };
    timeseries: Point[];
    anomalies: Anomaly[];
    byAffinity: AffinityRow[];
    byCountry: { country: string; metrics: Breakdown }[];
  } | null;
}

const ASSET = /* GraphQL */ `
  query AssetPage($id: ID!, $window: DateRange!, $filter: MetricFilter, $granularity: Granularity!) {
    dataVersion
    asset(id: $id) {
      id name type mediaUrl
      title { id name filterOptions { countries affinities } }
      timeseries(window: $window, granularity: $granularity, filter: $filter) {
        date
        metrics { impressions uniqueImpressions { value lower upper } takeRate { value lower upper } }
      }
      anomalies(window: $window, granularity: $granularity, filter: $filter) { date direction value expected score }
      byAffinity(window: $window, filter: $filter) {
        affinity lift
        metrics { impressions uniqueImpressions { value lower upper } takeRate { value lower upper } }
      }
      byCountry(window: $window, filter: $filter) {
        country
        metrics { impressions uniqueImpressions { value lower upper } takeRate { value lower upper } }
      }
    }
  }
`;

const GRANULARITIES = ["DAY", "WEEK", "MONTH"];

function seconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

function chart(
  label: string,
  points: Point[],
  series: { label: string; value: (p: Point) => number | null; color: string; percent?: boolean }[],
  marks: Anomaly[] = [],
): HTMLElement {
  const holder = h("figure", { class: "chart" }, h("figcaption", {}, label));
  const xs = points.map((p) => seconds(p.date));
  const marked = new Map(marks.map((a) => [a.date, a]));
  const data: uPlot.AlignedData = [
    xs,
    ...series.map((s) => points.map((p) => s.value(p))),
  ];
  const opts: uPlot.Options = {
    width: 560,
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    series: [
      { label: "Date", value: (_u, v) => (v === null ? "—" : new Date(v * 1000).toISOString().slice(0, 10)) },
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        value: (_u: uPlot, v: number | null) => (s.percent ? percent(v) : count(v)),
      })),
    ],
    axes: [{}, { values: (_u, ticks) => ticks.map((t) => (series[0].percent ? percent(t, 1) : count(t))), size: 70 }],
  };
  if (marks.length) {
    data.push(points.map((p) => (marked.has(p.date) ? series[0].value(p) : null)));
    opts.series.push({
      label: "Anomaly",
      stroke: PALETTE.vermillion,
      width: 0,
      points: { show: true, size: 10, stroke: PALETTE.vermillion, fill: PALETTE.vermillion },
      value: (_u: uPlot, v: number | null) => (v === null ? "" : series[0].percent ? percent(v) : count(v)),
    });
  }
  const plot = h("div", { role: "img", "aria-label": `${label}: ${points.length} points${marks.length ? `, ${marks.length} anomalies marked` : ""}` });
  holder.append(plot);
  // drawn once the figure is in the document
  queueMicrotask(() => new uPlot(opts, data, plot));
  return holder;
}

function liftBars(rows: { affinity: string; lift: number | null }[]): HTMLElement {
  const max = Math.max(1, ...rows.map((r) => r.lift ?? 0));
  return h(
    "ul",
    { class: "bars", "aria-label": "Take rate lift by affinity" },
    ...rows.map((r) =>
      h(
        "li",
        {},
        h("span", { class: "bar-label" }, r.affinity),
        h("span", { class: "bar-track" }, h("span", { class: `bar ${r.lift !== null && r.lift >= 1 ? "up" : "down"}`, style: `width:${(((r.lift ?? 0) / max) * 100).toFixed(1)}%` })),
        h("span", { class: "bar-value" }, ratio(r.lift)),
      ),
    ),
  );
}

export async function assetView(match: RegExpMatchArray, params: URLSearchParams): Promise<void> {
  const run = currentRun();
  const id = decodeURIComponent(match[1]);
  const granularity = GRANULARITIES.includes(params.get("g") ?? "") ? (params.get("g") as string) : "DAY";
  const loaded = await loadWindowed<AssetData>(run, params, ASSET, (win) => ({ id, window: win, filter: filterOf(params), granularity }));
  if (!loaded) return;
  const { data, warnings: answerWarnings, range, win } = loaded;
  const asset = subjectOf(data.asset, "asset", id);
  if (!asset) return;
  const points = asset.timeseries;
  const hasData = points.some((p) => p.metrics.impressions > 0);
  const granularityPicker = paramPicker(
    "g",
    "Granularity",
    GRANULARITIES.map((g) => ({ value: g, label: g.toLowerCase(), selected: g === granularity })),
    "granularity",
  );
  show(
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "/" }, "Search"),
      " › ",
      h("a", { href: `/title/${encodeURIComponent(asset.title.id)}${carried()}` }, asset.title.name),
      " › ",
      asset.name,
    ),
    h(
      "div",
      { class: "asset-head" },
      asset.mediaUrl ? h("img", { src: asset.mediaUrl, alt: `Artwork: ${asset.name}`, width: 240, height: 135 }) : h("div", { class: "no-media" }, "No artwork on file"),
      h("div", {}, h("h1", { "data-testid": "asset-name" }, asset.name), h("p", { class: "meta" }, `${asset.type} · ${asset.id}`), h("p", {}, createAlertLink(asset.title.id, asset.title.name))),
    ),
    toolbar(
      windowPicker(range, win),
      granularityPicker,
      filterPicker("countries", "Country", asset.title.filterOptions.countries),
      filterPicker("affinities", "Affinity", asset.title.filterOptions.affinities),
    ),
    ...[warnings(answerWarnings)].filter((n): n is HTMLElement => n !== null),
    hasData
      ? h(
          "div",
          { class: "charts" },
          chart("Impressions and unique impressions", points, [
            { label: "Impressions", value: (p) => p.metrics.impressions, color: PALETTE.blue },
            { label: "Unique impressions", value: (p) => p.metrics.uniqueImpressions.value, color: PALETTE.orange },
          ]),
          chart(
            "Take rate (anomalies marked)",
            points,
            [{ label: "Take rate", value: (p) => p.metrics.takeRate?.value ?? null, color: PALETTE.green, percent: true }],
            asset.anomalies,
          ),
        )
      : notice("empty", "No impressions in this window and filter. Pick a longer window or remove a filter."),
    table(
      "Time series",
      `${asset.id}_timeseries_${win.start}_${win.end}.csv`,
      [
        { label: "Date", show: (p: Point) => p.date },
        { label: "Impressions", show: (p) => count(p.metrics.impressions), csv: (p) => p.metrics.impressions, numeric: true },
        { label: "Unique impressions", show: (p) => estimateCount(p.metrics.uniqueImpressions), csv: (p) => p.metrics.uniqueImpressions.value, numeric: true },
        { label: "Take rate", show: (p) => estimatePercent(p.metrics.takeRate), csv: (p) => p.metrics.takeRate?.value, numeric: true },
      ],
      points,
      "timeseries",
    ),
    table(
      "Anomalies (take rate)",
      `${asset.id}_anomalies_${win.start}_${win.end}.csv`,
      [
        { label: "Date", show: (a: Anomaly) => a.date },
        { label: "Direction", show: (a) => a.direction },
        { label: "Take rate", show: (a) => percent(a.value), csv: (a) => a.value, numeric: true },
        { label: "Expected", show: (a) => percent(a.expected), csv: (a) => a.expected, numeric: true },
        { label: "Score", show: (a) => a.score.toFixed(2), csv: (a) => a.score, numeric: true },
      ],
      asset.anomalies,
      "anomalies",
    ),
    h("h2", {}, "Affinities"),
    asset.byAffinity.length ? liftBars(asset.byAffinity) : notice("empty", "No affinity data in this window and filter."),
    table(
      "By affinity",
      `${asset.id}_affinities_${win.start}_${win.end}.csv`,
      [
        { label: "Affinity", show: (r: AffinityRow) => r.affinity },
        { label: "Impressions", show: (r) => count(r.metrics.impressions), csv: (r) => r.metrics.impressions, numeric: true },
        { label: "Take rate", show: (r) => estimatePercent(r.metrics.takeRate), csv: (r) => r.metrics.takeRate?.value, numeric: true },
        { label: "Lift", show: (r) => ratio(r.lift), csv: (r) => r.lift, numeric: true },
      ],
      asset.byAffinity,
      "affinities",
    ),
    table(
      "By country",
      `${asset.id}_countries_${win.start}_${win.end}.csv`,
      [
        { label: "Country", show: (r: { country: string; metrics: Breakdown }) => r.country },
        { label: "Impressions", show: (r) => count(r.metrics.impressions), csv: (r) => r.metrics.impressions, numeric: true },
        { label: "Unique impressions", show: (r) => estimateCount(r.metrics.uniqueImpressions), csv: (r) => r.metrics.uniqueImpressions.value, numeric: true },
        { label: "Take rate", show: (r) => estimatePercent(r.metrics.takeRate), csv: (r) => r.metrics.takeRate?.value, numeric: true },
      ],
      asset.byCountry,
      "countries",
    ),
  );
}
