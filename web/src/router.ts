// A tiny history router: paths to views, links handled without reloads.
type Render = (match: RegExpMatchArray, params: URLSearchParams) => Promise<void>;

const routes: [RegExp, Render][] = [];
let current = 0;

export function route(pattern: RegExp, render: Render): void {
  routes.push([pattern, render]);
}

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  void render();
}

/** Render the view of the current URL; a view that is no longer current must not draw. */
export async function render(): Promise<void> {
  const run = ++current;
  const params = new URLSearchParams(window.location.search);
  for (const [pattern, view] of routes) {
    const match = window.location.pathname.match(pattern);
    if (match) {
      await view(match, params);
      if (run === current) {
        // the view's data is on screen: what `make bench` (bench/dashboard.py) times
        performance.mark("keyart:view-ready");
        document.dispatchEvent(new CustomEvent("view-ready"));
      }
      return;
    }
  }
}

export function isCurrent(run: number): boolean {
  return run === current;
}

export function currentRun(): number {
  return current;
}

export function start(): void {
  window.addEventListener("popstate", () => void render());
  document.addEventListener("click", (event) => {
    const link = (event.target as Element).closest?.("a");
    if (
      !link ||
      link.target ||
      link.hasAttribute("download") ||
      event.ctrlKey ||
      event.metaKey ||
      event.shiftKey ||
      event.button !== 0
    )
      return;
    const url = new URL(link.href);
    if (url.origin !== window.location.origin || url.pathname.startsWith("/graphql")) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
  void render();
}
