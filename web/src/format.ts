// Numbers as the dashboard shows them: counts with separators, rates as percentages with
// their interval, estimates with their error bars.
export interface Estimate {
  value: number;
  lower: number;
  upper: number;
}

const counts = new Intl.NumberFormat("en-US");

export function count(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : counts.format(Math.round(value));
}

export function percent(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)}%`;
}

export function ratio(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `×${value.toFixed(2)}`;
}

export function estimateCount(e: Estimate | null | undefined): string {
  return e ? `${count(e.value)} (${count(e.lower)}–${count(e.upper)})` : "—";
}

export function estimatePercent(e: Estimate | null | undefined): string {
  return e ? `${percent(e.value)} (${percent(e.lower)}–${percent(e.upper)})` : "—";
}

export function estimateRatio(e: Estimate | null | undefined): string {
  return e ? `${ratio(e.value)} (${ratio(e.lower)}–${ratio(e.upper)})` : "—";
}
