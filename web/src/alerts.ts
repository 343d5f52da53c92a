// Alerts: the notification rules and recent alerts (admin keys), and a form that creates a
// rule for a title (reached from the title and asset pages) and shows its webhook secret once.
import { query } from "./api";
import { h, notice } from "./dom";
import { currentRun, isCurrent } from "./router";
import { dataInfo, failure, problemNotice, show } from "./shell";
import { table } from "./table";

interface Rule {
  id: string;
  name: string;
  kind: string;
  titleIds: string[] | null;
  metric: string | null;
  threshold: number | null;
  windowDays: number;
  webhookUrl: string | null;
  createdAt: string;
  secret?: string | null;
}

interface AlertNode {
  id: string;
  ruleId: string;
  assetId: string;
  titleId: string;
  finding: string;
  dataVersion: string;
  reason: string;
  createdAt: string;
  clearedAt: string | null;
  delivery: { status: string; attempts: number } | null;
  asset: { name: string } | null;
  title: { name: string } | null;
}

interface AlertsData {
  alertRules: Rule[];
  alerts: { edges: { node: AlertNode }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const RULE_FIELDS = "id name kind titleIds metric threshold windowDays webhookUrl createdAt";

const ALERTS = /* GraphQL */ `
  query AlertsPage($rule: ID, $after: String) {
    alertRules { ${RULE_FIELDS} }
    alerts(ruleId: $rule, first: 50, after: $after) {
      edges { node {
        id ruleId assetId titleId finding dataVersion reason createdAt clearedAt
        delivery { status attempts }
        asset { name }
        title { name }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

const CREATE = /* GraphQL */ `
  mutation CreateAlertRule($input: AlertRuleInput!) {
    createAlertRule(input: $input) { ${RULE_FIELDS} secret }
  }
`;

export const KINDS = [
  { value: "OUTLIER", label: "Outlier (an asset far from its title's others)" },
  { value: "CLICKBAIT", label: "Clickbait (high take rate, low authenticity)" },
  { value: "ANOMALY", label: "Anomaly (a day far from the asset's usual)" },
  { value: "THRESHOLD", label: "Threshold (the metric at or above a value)" },
];
const METRICS = ["TAKE_RATE", "AUTHENTICITY", "UNIQUE_IMPRESSIONS", "QUALIFIED_PLAYS"];

/** An ISO timestamp to the second, in UTC (the CSV keeps the API's full value). */
function when(iso: string): string {
  return `${iso.slice(0, 19).replace("T", " ")} UTC`;
}

function titleLink(id: string, name?: string | null): HTMLElement {
  return h("a", { href: `/title/${encodeURIComponent(id)}` }, name ?? id);
}

/** The link to the form creating a rule on a title (title and asset pages). */
export function createAlertLink(titleId: string, titleName: string): HTMLElement {
  const query = new URLSearchParams({ title: titleId, name: titleName });
  return h("a", { href: `/alerts/new?${query}`, "data-testid": "create-alert" }, "Create alert");
}

/** /alerts: every rule and the most recent alerts (of one rule with ?rule=). */
export async function alertsView(_match: RegExpMatchArray, params: URLSearchParams): Promise<void> {
  const run = currentRun();
  const rule = params.get("rule") || null;
  const after = params.get("after") || null;
  let data: AlertsData;
  try {
    await dataInfo();
    data = (await query<AlertsData>(ALERTS, { rule, after })).data;
  } catch (error) {
    if (isCurrent(run)) failure(error);
    return;
  }
  if (!isCurrent(run)) return;
  const rules = data.alertRules;
  const names = new Map(rules.map((r) => [r.id, r.name]));
  const alerts = data.alerts.edges.map((e) => e.node);
  const createLink = h("a", { class: "button", href: "/alerts/new", "data-testid": "create-alert" }, "Create alert");
  const rulesBlock = rules.length
    ? table(
        "Alert rules",
        "alert_rules.csv",
        [
          { label: "Rule", show: (r: Rule) => h("a", { href: `/alerts?rule=${encodeURIComponent(r.id)}` }, r.name), csv: (r) => r.name },
          { label: "ID", show: (r) => r.id },
          { label: "Kind", show: (r) => r.kind },
          { label: "Titles", show: (r) => (r.titleIds ? h("span", {}, ...r.titleIds.flatMap((t, i) => [i ? ", " : "", titleLink(t)])) : "every title"), csv: (r) => (r.titleIds ? r.titleIds.join(" ") : "") },
          { label: "Metric", show: (r) => r.metric ?? "" },
          { label: "Threshold", show: (r) => (r.threshold === null ? "" : String(r.threshold)), csv: (r) => r.threshold, numeric: true },
          { label: "Window (days)", show: (r) => String(r.windowDays), csv: (r) => r.windowDays, numeric: true },
          { label: "Webhook", show: (r) => r.webhookUrl ?? "none (subscriptions only)", csv: (r) => r.webhookUrl },
          { label: "Created", show: (r) => when(r.createdAt), csv: (r) => r.createdAt },
        ],
        rules,
        "alert-rules",
      )
    : notice("empty", "No alert rules yet. Create one here or from a title or asset page.", createLink.cloneNode(true));
  const alertsBlock = alerts.length
    ? table(
        rule ? `Recent alerts of ${names.get(rule) ?? rule}` : "Recent alerts",
        rule ? `alerts_${rule}.csv` : "alerts.csv",
        [
          { label: "Found", show: (a: AlertNode) => when(a.createdAt), csv: (a) => a.createdAt },
          { label: "Rule", show: (a) => names.get(a.ruleId) ?? a.ruleId },
          { label: "Rule ID", show: (a) => a.ruleId },
          { label: "Title", show: (a) => titleLink(a.titleId, a.title?.name), csv: (a) => a.title?.name ?? a.titleId },
          { label: "Asset", show: (a) => (a.asset ? h("a", { href: `/asset/${encodeURIComponent(a.assetId)}` }, a.asset.name) : a.assetId), csv: (a) => a.asset?.name ?? a.assetId },
          { label: "Asset ID", show: (a) => a.assetId },
          { label: "Finding", show: (a) => a.finding },
          { label: "Reason", show: (a) => a.reason },
          { label: "Data version", show: (a) => a.dataVersion },
          { label: "Cleared", show: (a) => (a.clearedAt ? when(a.clearedAt) : "open"), csv: (a) => a.clearedAt },
          { label: "Webhook", show: (a) => (a.delivery ? `${a.delivery.status} (${a.delivery.attempts} attempts)` : "none"), csv: (a) => a.delivery?.status },
        ],
        alerts,
        "alerts",
      )
    : notice(
        "empty",
        after
          ? "No older alerts."
          : "No alerts yet. Rules are evaluated on each new data version: publish a snapshot (or wait for the next one), then reload.",
      );
  const more = data.alerts.pageInfo.hasNextPage && data.alerts.pageInfo.endCursor
    ? h("a", { href: `/alerts?${new URLSearchParams({ ...(rule ? { rule } : {}), after: data.alerts.pageInfo.endCursor })}`, "data-testid": "older-alerts" }, "Older alerts")
    : null;
  show(
    h("p", { class: "crumbs" }, h("a", { href: "/" }, "Search"), " › ", rule ? h("a", { href: "/alerts" }, "Alerts") : "Alerts"),
    h("h1", {}, "Alerts"),
    h("p", { class: "compare-bar" }, createLink),
    rulesBlock,
    alertsBlock,
    ...(more ? [more] : []),
  );
}

function field(id: string, label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null);
}

/** /alerts/new?title=<id>&name=<title name>: the form creating a rule with createAlertRule. */
export async function createAlertView(_match: RegExpMatchArray, params: URLSearchParams): Promise<void> {
  const titleId = params.get("title") || "";
  const titleName = params.get("name") || titleId;
  const name = h("input", { id: "rule-name", required: true, value: titleId ? `Alerts on ${titleName}` : "" });
  const titles = h("input", { id: "rule-titles", value: titleId, "aria-describedby": "rule-titles-hint" });
  const kind = h("select", { id: "rule-kind" }, ...KINDS.map((k) => h("option", { value: k.value }, k.label)));
  const metric = h("select", { id: "rule-metric", "aria-describedby": "rule-metric-hint" }, ...METRICS.map((m) => h("option", { value: m }, m)));
  const threshold = h("input", { id: "rule-threshold", type: "number", step: "any", "aria-describedby": "rule-threshold-hint" });
  const windowDays = h("input", { id: "rule-window", type: "number", min: 1, step: 1, value: 7, required: true });
  const webhook = h("input", { id: "rule-webhook", type: "url", "aria-describedby": "rule-webhook-hint" });
  const outcome = h("div", { "aria-live": "polite" });
  const fitKind = (): void => {
    metric.disabled = kind.value === "CLICKBAIT";
    threshold.disabled = kind.value !== "THRESHOLD";
    threshold.required = kind.value === "THRESHOLD";
  };
  kind.addEventListener("change", fitKind);
  const wanted = params.get("kind");
  if (wanted && KINDS.some((k) => k.value === wanted)) kind.value = wanted;
  fitKind();
  const submit = h("button", { type: "submit", class: "button" }, "Create alert rule");
  const form = h(
    "form",
    {
      class: "rule-form",
      "data-testid": "alert-form",
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const ids = titles.value.split(/[\s,]+/).filter(Boolean);
        const input = {
          name: name.value.trim(),
          kind: kind.value,
          titleIds: ids.length ? ids : null,
          // the API takes a metric for every kind but CLICKBAIT, a threshold for THRESHOLD only
          metric: kind.value === "CLICKBAIT" ? null : metric.value,
          threshold: kind.value !== "THRESHOLD" || threshold.value === "" ? null : Number(threshold.value),
          windowDays: Number(windowDays.value),
          webhookUrl: webhook.value.trim() || null,
        };
        if (input.kind === "THRESHOLD" && input.threshold === null) {
          outcome.replaceChildren(notice("error", "A THRESHOLD rule needs a threshold: enter the value that fires it."));
          threshold.focus();
          return;
        }
        submit.disabled = true;
        try {
          const created = (await query<{ createAlertRule: Rule }>(CREATE, { input })).data.createAlertRule;
          outcome.replaceChildren();
          form.replaceWith(createdNotice(created));
        } catch (error) {
          outcome.replaceChildren(problemNotice(error));
          submit.disabled = false;
        }
      },
    },
    field("rule-name", "Name", name),
    field("rule-titles", "Title IDs", titles, "Comma-separated; empty: every title."),
    field("rule-kind", "Kind", kind),
    field("rule-metric", "Metric", metric, "Not used by CLICKBAIT rules (take rate against authenticity)."),
    field("rule-threshold", "Threshold", threshold, "THRESHOLD rules only: fire when the metric is at or above it (a rate as a fraction, e.g. 0.12)."),
    field("rule-window", "Window (days)", windowDays),
    field("rule-webhook", "Webhook URL (optional)", webhook, "Alerts are POSTed there, signed with the secret shown once after creation."),
    submit,
  );
  show(
    h("p", { class: "crumbs" }, h("a", { href: "/" }, "Search"), " › ", titleId ? titleLink(titleId, titleName) : null, titleId ? " › " : null, h("a", { href: "/alerts" }, "Alerts"), " › New"),
    h("h1", {}, titleId ? `Create alert on ${titleName}` : "Create alert"),
    h("p", { class: "hint" }, "Creating rules needs an admin API key (keyart keys create --scope admin)."),
    form,
    outcome,
  );
}

function createdNotice(rule: Rule): HTMLElement {
  const secret = rule.secret
    ? [
        h("p", {}, "Webhook signing secret — copy it now, it is not shown again:"),
        h("p", {}, h("code", { "data-testid": "rule-secret" }, rule.secret)),
      ]
    : [];
  return h(
    "div",
    { class: "notice empty", role: "status", "data-testid": "rule-created" },
    h("p", {}, `Alert rule “${rule.name}” created (id `, h("code", { "data-testid": "rule-id" }, rule.id), ")."),
    ...secret,
    h("a", { href: `/alerts?rule=${encodeURIComponent(rule.id)}` }, "See it on the Alerts page"),
  );
}
