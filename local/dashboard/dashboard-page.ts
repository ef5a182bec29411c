/**
 * The local dashboard's page: one self-contained document (styles and script inline, no font, image or
 * library from anywhere: it works offline). The script (`dashboard-client.js`, plain browser JavaScript)
 * listens to `/api/events` and draws the widgets of the CloudWatch dashboards from each snapshot.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const STYLE = `
:root { --ink:#16191f; --muted:#5f6b7a; --line:#e3e6ea; --card:#fff; --bg:#f2f3f3; --ok:#1d8102;
  --warn:#b36b00; --bad:#d13212; --in:#0073bb; --out:#1d8102; --q:#d13212; --dup:#8d6605; --idle:#8d99a8; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:var(--ink); background:var(--bg); }
header { display:flex; align-items:baseline; gap:14px; padding:10px 18px; background:#232f3e; color:#fff; }
header h1 { font-size:16px; margin:0; font-weight:600; }
header .sub { color:#c6ccd3; font-size:12px; }
header .status { margin-left:auto; font-size:12px; }
.pill { display:inline-block; padding:1px 8px; border-radius:9px; font-size:11px; font-weight:600; }
.pill.live, .pill.OK { background:#1d8102; color:#fff; } .pill.down, .pill.ALARM { background:#d13212; color:#fff; }
.pill.INSUFFICIENT_DATA { background:#f2c14e; color:#16191f; } .pill.NOT_EVALUATED { background:#d5dbdb; color:#16191f; }
main { padding:12px 18px 24px; }
h2 { font-size:13px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); margin:16px 0 6px; }
.grid { display:grid; gap:10px; grid-template-columns:repeat(auto-fill,minmax(210px,1fr)); }
.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:9px 11px; min-height:74px; }
.card h3 { font-size:12px; font-weight:600; margin:0 0 6px; color:#33404f; }
.big { font-size:24px; font-weight:600; line-height:1.1; }
.big small { font-size:12px; font-weight:400; color:var(--muted); }
.muted { color:var(--muted); } .bad { color:var(--bad); } .okc { color:var(--ok); } .warnc { color:var(--warn); }
.alarms { display:grid; gap:6px; grid-template-columns:repeat(auto-fill,minmax(260px,1fr)); }
.alarm { border-left:5px solid var(--idle); background:var(--card); border-radius:4px; padding:5px 9px;
  border-top:1px solid var(--line); border-right:1px solid var(--line); border-bottom:1px solid var(--line); }
.alarm.ALARM { border-left-color:var(--bad); } .alarm.OK { border-left-color:var(--ok); }
.alarm.INSUFFICIENT_DATA { border-left-color:var(--warn); }
.alarm b { font-size:12px; margin-right:4px; } .alarm .line { font-size:11px; color:var(--muted); }
.alarm .pill { white-space:nowrap; }
.dataset { background:var(--card); border:1px solid var(--line); border-radius:6px; margin:0 0 10px; }
.dataset > h3 { margin:0; padding:7px 11px; font-size:13px; border-bottom:1px solid var(--line); }
.dataset .grid { padding:9px 11px; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); }
.dataset .card { border:none; padding:0; min-height:0; }
.bar { display:grid; grid-template-columns:78px 1fr 44px; align-items:center; gap:6px; font-size:11px; margin:2px 0; }
.track { position:relative; height:10px; background:#eef0f2; border-radius:3px; overflow:visible; }
.fill { height:100%; border-radius:3px; }
.fill.in { background:var(--in); } .fill.out { background:var(--out); } .fill.quarantined { background:var(--q); }
.fill.duplicates { background:var(--dup); }
.limit { position:absolute; top:-3px; bottom:-3px; width:2px; background:var(--ink); }
.num { text-align:right; font-variant-numeric:tabular-nums; }
table { border-collapse:collapse; width:100%; font-size:12px; }
td { padding:2px 4px; border-top:1px solid var(--line); vertical-align:top; overflow-wrap:anywhere; }
td.name { font-size:11px; overflow-wrap:normal; }
#recent { font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; background:var(--card);
  border:1px solid var(--line); border-radius:6px; padding:6px 10px; margin:0; white-space:pre-wrap; }
`;

/** The page, scripted to fill itself from `/api/events`. */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medallion: local dashboard</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>medallion &middot; local dashboard</h1>
  <span class="sub" id="since"></span>
  <span class="status"><span id="updated" class="sub"></span> <span id="connection" class="pill down">connecting</span></span>
</header>
<main>
  <h2>Alarms that would fire</h2>
  <div id="alarms" class="alarms"></div>
  <h2>Platform</h2>
  <div id="platform" class="grid"></div>
  <h2>Datasets</h2>
  <div id="datasets"></div>
  <h2>Recent activity</h2>
  <pre id="recent"></pre>
</main>
<script>${clientScript()}</script>
</body>
</html>
`;
}

let script: string | undefined;

/** The browser script, read once (it is a file of its own so that it is linted as JavaScript). */
function clientScript(): string {
  script ??= readFileSync(join(__dirname, 'dashboard-client.js'), 'utf8').replace(
    /<\/script/gi,
    '<\\/script',
  );
  return script;
}
