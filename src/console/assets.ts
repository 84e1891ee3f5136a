/**
 * The console's stylesheet and script, kept as TypeScript strings so `tsc` carries them into
 * `dist` with the rest of the package: no copy step, no bundler, nothing fetched from elsewhere.
 * The pages work without the script; it only renders times in the browser's zone and time zone
 * offsets as "ago", and lets a filter field submit on Enter.
 */

/** Served at `/assets/console.css`. */
export const CONSOLE_CSS = `
:root { --fg:#1d2330; --muted:#5b6475; --line:#dde1e8; --bg:#f6f7f9; --card:#fff; --accent:#3451b2;
  --ok:#1f7a45; --warn:#9a6400; --bad:#b42318; --info:#3451b2; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg); font-size:14px; line-height:1.45; }
header.top { display:flex; align-items:center; gap:1.5rem; padding:.6rem 1.2rem; background:#1d2330; color:#fff; }
header.top a { color:#dfe4f0; text-decoration:none; }
header.top a.current, header.top a:hover { color:#fff; text-decoration:underline; }
header.top .brand { font-weight:700; color:#fff; letter-spacing:.02em; }
header.top .mode { margin-left:auto; font-size:12px; padding:.1rem .5rem; border-radius:4px; background:#3a4257; }
main { padding:1.2rem; max-width:1280px; margin:0 auto; }
h1 { font-size:1.35rem; margin:.2rem 0 1rem; } h2 { font-size:1.05rem; margin:1.4rem 0 .6rem; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(210px,1fr)); gap:.8rem; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.8rem 1rem; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.card .value { font-size:1.5rem; font-weight:600; margin-top:.2rem; }
table { width:100%; border-collapse:collapse; background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { text-align:left; padding:.45rem .7rem; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef0f4; font-size:12px; text-transform:uppercase; letter-spacing:.03em; color:var(--muted); }
tr:last-child td { border-bottom:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12.5px; }
pre { background:#f0f2f6; border:1px solid var(--line); border-radius:6px; padding:.6rem; overflow:auto; max-height:24rem; margin:.3rem 0; }
a { color:var(--accent); }
.muted { color:var(--muted); }
.badge { display:inline-block; padding:.05rem .45rem; border-radius:10px; font-size:12px; font-weight:600; background:#e8ebf2; color:#39415a; white-space:nowrap; }
.badge.active, .badge.running { background:#e3ecff; color:#2643a3; }
.badge.completed, .badge.done { background:#e1f4e8; color:var(--ok); }
.badge.parked { background:#fff1d6; color:var(--warn); }
.badge.failed, .badge.terminated, .badge.error { background:#fde4e1; color:var(--bad); }
.badge.action { background:#efe6fb; color:#5b2ca0; }
.alert { padding:.6rem .9rem; border-radius:6px; margin:0 0 1rem; border:1px solid; }
.alert.ok { background:#eaf7ef; border-color:#b6e2c6; } .alert.bad { background:#fdecea; border-color:#f3bcb5; }
.alert.warn { background:#fff6e0; border-color:#f0d9a0; }
form.inline { display:inline; }
form.search { display:flex; flex-wrap:wrap; gap:.5rem; align-items:end; margin-bottom:1rem; }
form.search label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:.15rem; }
input, select, textarea { font:inherit; padding:.35rem .5rem; border:1px solid #c5cbd6; border-radius:5px; background:#fff; }
textarea { width:100%; min-height:4rem; }
button, .button { font:inherit; padding:.35rem .8rem; border-radius:5px; border:1px solid var(--accent); background:var(--accent); color:#fff; cursor:pointer; text-decoration:none; display:inline-block; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.danger, .button.danger { background:var(--bad); border-color:var(--bad); color:#fff; }
button:disabled { opacity:.5; cursor:not-allowed; }
.actions { display:flex; flex-wrap:wrap; gap:.5rem; margin:.6rem 0 1rem; }
.timeline { list-style:none; padding:0; margin:0; border-left:2px solid var(--line); }
.timeline li { position:relative; margin:0 0 .7rem 1rem; padding:.45rem .7rem; background:var(--card); border:1px solid var(--line); border-radius:6px; }
.timeline li::before { content:''; position:absolute; left:-1.45rem; top:.8rem; width:10px; height:10px; border-radius:50%; background:var(--accent); }
.timeline li.error::before { background:var(--bad); } .timeline li.action::before { background:#7c4dcc; }
.timeline li.timer::before { background:var(--warn); } .timeline li.handled::before { background:var(--ok); }
.timeline .when { color:var(--muted); font-size:12px; margin-right:.5rem; }
details > summary { cursor:pointer; color:var(--muted); font-size:12px; }
dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:.25rem 1rem; background:var(--card); border:1px solid var(--line); border-radius:8px; padding:.8rem 1rem; margin:0; }
dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; }
.confirm { max-width:640px; background:var(--card); border:1px solid var(--line); border-radius:8px; padding:1rem 1.2rem; }
.pager { margin-top:.8rem; }
`;

/** Served at `/assets/console.js`. */
export const CONSOLE_JS = `
(function () {
  var units = [['d', 86400000], ['h', 3600000], ['m', 60000], ['s', 1000]];
  function ago(ms) {
    var future = ms < 0; ms = Math.abs(ms);
    for (var i = 0; i < units.length; i++) {
      if (ms >= units[i][1] || i === units.length - 1) {
        var n = Math.floor(ms / units[i][1]);
        return future ? 'in ' + n + units[i][0] : n + units[i][0] + ' ago';
      }
    }
    return '';
  }
  var now = Date.parse(document.body.getAttribute('data-now') || '') || Date.now();
  document.querySelectorAll('time[datetime]').forEach(function (el) {
    var at = Date.parse(el.getAttribute('datetime'));
    if (isNaN(at)) return;
    el.title = new Date(at).toISOString();
    el.textContent = new Date(at).toLocaleString() + ' (' + ago(now - at) + ')';
  });
})();
`;
