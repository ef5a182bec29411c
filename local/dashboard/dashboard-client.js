// The local dashboard's browser script (inlined into the page by dashboard-page.ts): draws each snapshot
// that /api/events sends, and refreshes the "ago" times every second. Plain JavaScript, no library.
(() => {
  const $ = (id) => document.getElementById(id);
  const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
  const int = (n) => Number(n).toLocaleString('en-US');
  const pct = (r) => `${(r * 100).toFixed(1)}%`;
  const secs = (ms) => (ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);
  const metric = (name, text) => `<span data-metric="${esc(name)}">${esc(text)}</span>`;

  function bytes(n) {
    if (n < 1024) return `${n} B`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let v = n / 1024;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return `${v.toFixed(1)} ${units[u]}`;
  }

  function ago(t, now) {
    if (t === null || t === undefined || t === 0) return 'never';
    const s = Math.max(0, Math.round((now - t) / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  const plural = (n, noun) => (n === 1 ? noun : `${noun}s`);
  const time = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });
  const card = (title, body, attrs = '') => `<div class="card"${attrs}><h3>${esc(title)}</h3>${body}</div>`;

  function bar(label, value, max, kind) {
    const width = max > 0 ? Math.min(100, (100 * value) / max) : 0;
    return (
      `<div class="bar"><span>${esc(label)}</span><span class="track"><span class="fill ${kind}" ` +
      `style="display:block;width:${width}%"></span></span>${`<span class="num">${metric(`rows.${kind}`, int(value))}</span>`}</div>`
    );
  }

  function alarms(list) {
    if (!list) return '<div class="card muted">No alarm evaluation is wired in: nothing to show.</div>';
    if (list.length === 0) return '<div class="card muted">No alarms are defined.</div>';
    return list
      .map(
        (a) =>
          `<div class="alarm ${esc(a.state)}" data-alarm="${esc(a.alarmId)}" title="${esc(a.description ?? '')}">` +
          `<b>${esc(a.alarmName)}</b> <span class="pill ${esc(a.state)}">${esc(a.state.replace('_', ' '))}</span>` +
          `<div class="line">${esc(a.line)}</div></div>`,
      )
      .join('');
  }

  function listed(title, testid, l, describe) {
    const rows = l.recent
      .slice(0, 3)
      .map((e) => `<tr><td>${esc(describe(e))}</td></tr>`)
      .join('');
    const cls = l.count > 0 ? 'big bad' : 'big';
    return card(title, `<div class="${cls}">${metric(testid, int(l.count))}</div><table>${rows}</table>`);
  }

  function platform(s, now) {
    const queues = s.queues
      .map(
        (q) =>
          `<tr><td class="name" title="${esc(q.name)}">${esc(q.name.slice(q.name.lastIndexOf('-') + 1))}</td><td class="num">${metric(`queue.${q.name}.depth`, int(q.depth))}</td></tr>`,
      )
      .join('');
    const waiting = s.queues.reduce((n, q) => n + q.depth, 0);
    const runs = s.gold.runs
      .slice(0, 3)
      .map(
        (r) =>
          `<tr><td>${esc(r.execution)}</td><td class="num">${r.models.length} models</td><td class="num">${esc(ago(r.at, now))}</td></tr>`,
      )
      .join('');
    const running =
      s.gold.running.length > 0
        ? `<div class="warnc">running: ${esc(s.gold.running.map((r) => r.name).join(', '))}</div>`
        : '';
    return [
      card(
        'Transform queue: messages waiting',
        `<div class="big">${metric('queue.depth', int(waiting))}</div><table>${queues}</table>`,
      ),
      listed('Dead letters', 'dead-letters', s.deadLetters, (d) => `${d.names.join(', ')}: ${d.error}`),
      listed('Failed landings', 'landing-failures', s.landingFailures, (f) => `${f.name}: ${f.error}`),
      listed('Uploads no contract claims', 'unrouted', s.unrouted, (u) => `${u.name}: ${u.reason}`),
      card(
        'Gold runs (freshness)',
        `<div class="big">${metric('gold.runs', int(s.gold.runs.length))} <small>published, last ` +
          `${metric('gold.last', ago(s.gold.lastPublishedAt, now))}</small></div>${running}<table>${runs}</table>`,
      ),
    ].join('');
  }

  function dataset(d, now) {
    const max = Math.max(d.rows.in, 1);
    const rows =
      bar('in', d.rows.in, max, 'in') +
      bar('out', d.rows.out, max, 'out') +
      bar('quarantined', d.rows.quarantined, max, 'quarantined') +
      bar('duplicates', d.rows.duplicates, max, 'duplicates');
    const limit = d.maxQuarantineRatio;
    const ratio = d.quarantineRatio;
    const scale = Math.max((limit ?? 0.05) * 2, ratio ?? 0, 0.01);
    const over = ratio !== null && limit !== null && ratio > limit;
    const ratioBody =
      `<div class="big ${over ? 'bad' : ''}">${metric('quarantine.ratio', ratio === null ? '–' : pct(ratio))}` +
      '</div>' +
      `<div class="track" style="margin:5px 0"><span class="fill quarantined" style="display:block;width:${
        ratio === null ? 0 : Math.min(100, (100 * ratio) / scale)
      }%"></span>${limit === null ? '' : `<span class="limit" style="left:${(100 * limit) / scale}%"></span>`}</div>` +
      `<div class="muted">contract max ${limit === null ? '?' : pct(limit)}</div>` +
      `<div class="muted">${d.topReasons.map((r) => `${esc(r.reason)} ${r.rows}`).join(', ') || 'no row quarantined'}</div>`;
    const lag = d.lag
      ? `<div class="big">${metric('lag.last', secs(d.lag.lastMs))}</div><div class="muted">p90 ${secs(d.lag.p90Ms)}, max ${secs(d.lag.maxMs)}</div>`
      : `<div class="big muted">${metric('lag.last', '–')}</div><div class="muted">no file transformed since start</div>`;
    return (
      `<section class="dataset" data-dataset="${esc(d.id)}"><h3>${esc(d.id)}</h3><div class="grid">` +
      card(
        'Landed in bronze',
        `<div class="big">${metric('files.landed', int(d.files.landed))} <small>files</small></div>` +
          `<div class="muted">${metric('files.bytes', bytes(d.files.bytes))}, ${metric('files.duplicates', int(d.files.duplicates))} duplicate uploads</div>`,
      ) +
      card('Rows', rows) +
      card('Quarantine ratio', ratioBody) +
      card(
        'Lag to silver, rejected files',
        `${lag}<div class="${d.files.quarantined > 0 ? 'bad' : 'muted'}">${metric('files.quarantined', int(d.files.quarantined))} ${plural(d.files.quarantined, 'file')} rejected</div>`,
      ) +
      card(
        'Freshness',
        `<div>landed ${metric('fresh.landed', d.lastLandedAt === null && d.files.landed > 0 ? 'before the start' : ago(d.lastLandedAt, now))}</div>` +
          `<div>in silver ${metric('fresh.silver', ago(d.lastSilverAt, now))}</div>` +
          `<div class="muted">${metric('files.transformed', int(d.files.transformed))} of ${int(d.files.landed)} ${plural(d.files.landed, 'file')} transformed</div>`,
      ) +
      '</div></section>'
    );
  }

  let last;
  let received = 0;

  function render() {
    if (!last) return;
    const s = last;
    const now = Date.now();
    const firing = (s.alarms ?? []).filter((a) => a.state === 'ALARM').length;
    $('alarms').innerHTML = alarms(s.alarms);
    $('alarms').dataset.firing = String(firing);
    $('platform').innerHTML = platform(s, now);
    $('datasets').innerHTML = s.datasets.map((d) => dataset(d, now)).join('');
    $('recent').textContent =
      s.recent.map((r) => `${time(r.at)}  ${r.line}`).join('\n') || 'nothing has happened since the start';
    $('since').textContent = `counting since ${new Date(s.since).toLocaleString('en-GB', { hour12: false })}`;
    $('updated').textContent = `updated ${ago(s.generatedAt, now)}`;
    document.body.dataset.snapshots = String(received);
  }

  function connect() {
    const events = new EventSource('/api/events');
    const status = $('connection');
    events.onopen = () => {
      status.textContent = 'live';
      status.className = 'pill live';
    };
    events.onmessage = (m) => {
      last = JSON.parse(m.data);
      received++;
      render();
    };
    events.onerror = () => {
      status.textContent = 'reconnecting';
      status.className = 'pill down';
    };
  }

  connect();
  setInterval(render, 1000);
})();
