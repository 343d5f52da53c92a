// Small inline charts: an error bar (value with its interval) and a labelled horizontal bar.
import { type Estimate } from "./format";

const SVG = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  return element;
}

/** The estimate on a 0..max scale: a line from lower to upper, a dot at the value. */
export function errorBar(e: Estimate | null | undefined, max: number, label: string): SVGSVGElement {
  const width = 120;
  const height = 12;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", class: "errorbar" });
  root.setAttribute("aria-label", label);
  root.append(svg("line", { x1: 0, x2: width, y1: height / 2, y2: height / 2, class: "axis" }));
  if (e && max > 0) {
    const x = (v: number) => Math.max(0, Math.min(width, (v / max) * width));
    root.append(svg("line", { x1: x(e.lower), x2: x(e.upper), y1: height / 2, y2: height / 2, class: "interval" }));
    root.append(svg("line", { x1: x(e.lower), x2: x(e.lower), y1: 2, y2: height - 2, class: "interval" }));
    root.append(svg("line", { x1: x(e.upper), x2: x(e.upper), y1: 2, y2: height - 2, class: "interval" }));
    root.append(svg("circle", { cx: x(e.value), cy: height / 2, r: 3, class: "point" }));
  }
  return root;
}
