// What a view shows is in its URL: the window, filters and selections are query parameters,
// so every view is a deep link.
export type Preset = "7d" | "30d" | "90d" | "all" | "custom";

export interface DataRange {
  first: string;
  last: string;
  days: number;
}

export interface Window {
  start: string;
  end: string;
}

export interface Filter {
  countries?: string[];
  affinities?: string[];
}

export const PRESETS: { value: Preset; label: string }[] = [
  { value: "7d", label: "Last 7 days" },
  { value: "30d", label: "Last 30 days" },
  { value: "90d", label: "Last 90 days" },
  { value: "all", label: "All time" },
  { value: "custom", label: "Custom" },
];

function shift(day: string, days: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

function clamp(day: string, range: DataRange): string {
  return day < range.first ? range.first : day > range.last ? range.last : day;
}

export function preset(params: URLSearchParams): Preset {
  const value = params.get("window");
  return PRESETS.some((p) => p.value === value) ? (value as Preset) : "30d";
}

/** The window the URL asks for, relative to the last day with data. */
export function windowOf(params: URLSearchParams, range: DataRange): Window {
  const chosen = preset(params);
  if (chosen === "all") return { start: range.first, end: range.last };
  if (chosen === "custom") {
    const start = params.get("start") ?? range.first;
    const end = params.get("end") ?? range.last;
    return start <= end ? { start, end } : { start: end, end: start };
  }
  const days = Number.parseInt(chosen, 10);
  return { start: clamp(shift(range.last, -(days - 1)), range), end: range.last };
}

function list(params: URLSearchParams, name: string): string[] | undefined {
  const value = params.get(name);
  const items = value ? value.split(",").filter(Boolean) : [];
  return items.length ? items : undefined;
}

export function filterOf(params: URLSearchParams): Filter | null {
  const filter: Filter = {};
  const countries = list(params, "countries");
  const affinities = list(params, "affinities");
  if (countries) filter.countries = countries;
  if (affinities) filter.affinities = affinities;
  return countries || affinities ? filter : null;
}

/** The filter in words, for captions ("" when there is none). */
export function describe(filter: Filter | null): string {
  if (!filter) return "";
  const parts = [];
  if (filter.countries) parts.push(`countries ${filter.countries.join(", ")}`);
  if (filter.affinities) parts.push(`affinities ${filter.affinities.join(", ")}`);
  return `, ${parts.join("; ")}`;
}

export function idsOf(params: URLSearchParams): string[] {
  return list(params, "ids") ?? [];
}

/** The current URL with some parameters set (empty values removed). */
export function withParams(changes: Record<string, string | null>, path = window.location.pathname): string {
  const params = new URLSearchParams(window.location.search);
  for (const [name, value] of Object.entries(changes)) {
    if (value) params.set(name, value);
    else params.delete(name);
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** The window and filter parameters of the current URL, to carry them to another view. */
export function carried(): string {
  const params = new URLSearchParams(window.location.search);
  const kept = new URLSearchParams();
  for (const name of ["window", "start", "end", "countries", "affinities"]) {
    const value = params.get(name);
    if (value) kept.set(name, value);
  }
  const search = kept.toString();
  return search ? `?${search}` : "";
}
