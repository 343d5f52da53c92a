// The creative-insights dashboard: search → title → asset → compare, alerts, on keyart's public GraphQL API.
import { alertsView, createAlertView } from "./alerts";
import { assetView } from "./asset";
import { compareView } from "./compare";
import { route, start } from "./router";
import { h, notice } from "./dom";
import { searchView } from "./search";
import { show } from "./shell";
import "./style.css";
import { titleView } from "./title";

route(/^\/$/, searchView);
route(/^\/title\/([^/]+)$/, titleView);
route(/^\/asset\/([^/]+)$/, assetView);
route(/^\/compare$/, compareView);
route(/^\/alerts$/, alertsView);
route(/^\/alerts\/new$/, createAlertView);
route(/./, async () => show(notice("empty", "There is no such page.", h("a", { href: "/" }, "Search for a title"))));

start();
