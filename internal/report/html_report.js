(function () {
  'use strict';
  // Everything the page shows comes from the JSON block and is put into the
  // page with textContent and DOM calls, never parsed as HTML.
  var D = JSON.parse(document.getElementById('herd-data').textContent);
  var tests = D.tests, lanes = D.lanes, N = tests.length;
  var PAGE = 500;
  var COLORS = {
    passed: '#2f9e44', failed: '#e03131', crashed: '#7b0a0a', timeout: '#f08c00',
    skipped: '#adb5bd', xfailed: '#adb5bd', xpassed: '#82c91e', flaky: '#f5b700',
    error: '#9c36b5', interrupted: '#e8590c', not_run: '#ced4da'
  };
  var FAILURES = ['failed', 'error', 'crashed', 'timeout', 'flaky', 'interrupted', 'not_run'];
  var rank = {};
  D.outcomes.forEach(function (o, k) { rank[o] = k; });

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var k = 1; k < arguments.length; k++) {
      var c = arguments[k];
      if (c === null || c === undefined) continue;
      parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function chip(o) {
    var c = el('span', 'chip');
    c.style.background = COLORS[o] || '#868e96';
    return c;
  }
  function outcomeCell(o) { return add(el('td', 'outcome'), chip(o), o); }
  function fmtDur(s) {
    if (!(s > 0)) return '0s';
    if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 1 : 0) + 'ms';
    if (s < 60) return s.toFixed(2) + 's';
    var m = Math.floor(s / 60);
    return m + 'm ' + (s - m * 60).toFixed(0) + 's';
  }
  function laneLabel(l) { return l >= 0 && lanes[l] ? lanes[l].label : ''; }

  var T = Math.max(D.duration || 0, 0);
  lanes.forEach(function (l) { T = Math.max(T, l.stop); });
  tests.forEach(function (t) { T = Math.max(T, t.e); });
  if (!(T > 0)) T = 1;

  // ---- state ----
  var on = {};
  D.outcomes.forEach(function (o) { on[o] = true; });
  var query = '';
  var match = new Uint8Array(N);
  var matched = [];
  var shown = 0;
  var sortKey = 'index', sortAsc = true;
  var view = [0, T];
  var selected = -1;
  var lowerIds = null;
  var openAtLoad = null;
  var byId = {};
  tests.forEach(function (t, i) { byId[t.id] = i; });

  function readHash() {
    var h = location.hash.replace(/^#/, '');
    if (!h) return;
    h.split('&').forEach(function (kv) {
      var eq = kv.indexOf('=');
      if (eq < 0) return;
      var k = kv.slice(0, eq), v = kv.slice(eq + 1);
      try { v = decodeURIComponent(v); } catch (e) { return; }
      if (k === 'filter') {
        var want = v.split(',').filter(Boolean);
        if (want.indexOf('failures') >= 0) want = want.concat(FAILURES);
        D.outcomes.forEach(function (o) { on[o] = want.length === 0 || want.indexOf(o) >= 0; });
      } else if (k === 'q') {
        query = v;
      } else if (k === 'test') {
        openAtLoad = v;
      }
    });
  }
  function writeHash() {
    var parts = [];
    var off = D.outcomes.filter(function (o) { return !on[o]; });
    if (off.length) parts.push('filter=' + D.outcomes.filter(function (o) { return on[o]; }).join(','));
    if (query) parts.push('q=' + encodeURIComponent(query));
    try { history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname + location.search); } catch (e) { /* file: URLs in some browsers */ }
  }

  // ---- header, summary, slowest, collection errors ----
  function renderHeader() {
    $('title').textContent = D.title;
    var st = $('status');
    st.textContent = String(D.status).replace('_', ' ');
    st.className = 'status ' + D.status;
    $('closing').textContent = D.closing;
    var bits = [];
    if (D.generated) bits.push('generated ' + D.generated);
    if (D.herd_version) bits.push('herd ' + D.herd_version);
    if (D.python) bits.push('Python ' + D.python);
    if (D.pytest) bits.push('pytest ' + D.pytest);
    if (D.rootdir) bits.push('rootdir ' + D.rootdir);
    bits.push(D.workers + (D.workers === 1 ? ' worker' : ' workers'));
    bits.push(D.collected + ' collected' + (D.deselected ? ', ' + D.deselected + ' deselected' : ''));
    bits.push('ran ' + fmtDur(D.duration));
    if (D.worker_deaths) bits.push(D.worker_deaths + (D.worker_deaths === 1 ? ' worker died' : ' workers died'));
    if (D.interrupt_reason) bits.push('interrupted: ' + D.interrupt_reason);
    $('meta').textContent = bits.join(' \u00b7 ');
    document.title = D.title;
  }

  function renderSummary() {
    var body = document.querySelector('#summary tbody');
    var total = 0;
    D.outcomes.forEach(function (o) { total += D.summary[o] || 0; });
    D.outcomes.forEach(function (o) {
      var n = D.summary[o] || 0;
      if (!n) return;
      var tr = el('tr');
      tr.dataset.outcome = o;
      tr.title = 'show only ' + o;
      add(tr, outcomeCell(o), el('td', 'num', n), el('td', 'num', (100 * n / total).toFixed(1) + '%'));
      body.appendChild(tr);
    });
    var tr = el('tr');
    add(tr, el('th', null, 'total'), el('th', 'num', total), el('th', 'num', ''));
    body.appendChild(tr);
    document.getElementById('summary').classList.add('clickable');
    body.addEventListener('click', function (ev) {
      var row = ev.target.closest('tr');
      if (!row || !row.dataset.outcome) return;
      D.outcomes.forEach(function (o) { on[o] = o === row.dataset.outcome; });
      syncFilters();
      apply();
    });
  }

  function renderSlowest() {
    var body = document.querySelector('#slowest tbody');
    D.slowest.forEach(function (i) {
      var t = tests[i];
      var tr = el('tr');
      tr.dataset.index = i;
      add(tr, el('td', 'num', fmtDur(t.d)), outcomeCell(t.o), el('td', 'id', t.id), el('td', null, laneLabel(t.lane)));
      body.appendChild(tr);
    });
    body.addEventListener('click', rowClick);
  }

  function renderCollectionErrors() {
    if (!D.collection_errors.length) return;
    var box = $('collection-errors-list');
    D.collection_errors.forEach(function (c) {
      add(box, el('h4', null, c.path), el('pre', null, c.message));
    });
    $('collection-errors').hidden = false;
  }

  // ---- filters ----
  function renderFilters() {
    var box = $('filters');
    D.outcomes.forEach(function (o) {
      var n = D.summary[o] || 0;
      if (!n) return;
      var cb = el('input');
      cb.type = 'checkbox';
      cb.dataset.outcome = o;
      var lab = add(el('label'), cb, chip(o), o + ' ' + n);
      box.appendChild(lab);
    });
    box.addEventListener('change', function (ev) {
      var o = ev.target.dataset.outcome;
      if (!o) return;
      on[o] = ev.target.checked;
      apply();
    });
    var all = el('button', null, 'all');
    all.type = 'button';
    all.addEventListener('click', function () {
      D.outcomes.forEach(function (o) { on[o] = true; });
      syncFilters(); apply();
    });
    var fails = el('button', null, 'problems only');
    fails.type = 'button';
    fails.addEventListener('click', function () {
      D.outcomes.forEach(function (o) { on[o] = FAILURES.indexOf(o) >= 0; });
      syncFilters(); apply();
    });
    add(box, ' ', all, ' ', fails);
    var search = $('search');
    var timer = 0;
    search.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { query = search.value; apply(); }, 120);
    });
    syncFilters();
  }
  function syncFilters() {
    var boxes = document.querySelectorAll('#filters input[type=checkbox]');
    for (var k = 0; k < boxes.length; k++) boxes[k].checked = !!on[boxes[k].dataset.outcome];
    $('search').value = query;
  }

  function apply() {
    var q = query.toLowerCase();
    if (q && !lowerIds) lowerIds = tests.map(function (t) { return t.id.toLowerCase(); });
    matched = [];
    var bars = 0;
    for (var i = 0; i < N; i++) {
      var m = on[tests[i].o] && (!q || lowerIds[i].indexOf(q) >= 0);
      match[i] = m ? 1 : 0;
      if (m) {
        matched.push(i);
        if (tests[i].lane >= 0) bars++;
      }
    }
    sortMatched();
    shown = 0;
    $('tests-body').textContent = '';
    showMore();
    $('match-count').textContent = matched.length === N ? N + ' tests' : matched.length + ' of ' + N + ' tests';
    canvas.dataset.visibleBars = bars;
    draw();
    writeHash();
  }

  // ---- the table of tests ----
  function sortMatched() {
    var key = sortKey, dir = sortAsc ? 1 : -1;
    var val;
    switch (key) {
      case 'o': val = function (i) { return rank[tests[i].o]; }; break;
      case 'id': val = function (i) { return tests[i].id; }; break;
      case 'lane': val = function (i) { var l = tests[i].lane; return l < 0 ? 1e9 : l; }; break;
      case 's': val = function (i) { return tests[i].lane < 0 ? 1e18 : tests[i].s; }; break;
      case 'd': val = function (i) { return tests[i].d; }; break;
      default: val = function (i) { return i; };
    }
    matched.sort(function (a, b) {
      var x = val(a), y = val(b);
      if (x < y) return -dir;
      if (x > y) return dir;
      return a - b;
    });
    var ths = document.querySelectorAll('#tests th[data-sort]');
    for (var k = 0; k < ths.length; k++) {
      ths[k].classList.toggle('sorted', ths[k].dataset.sort === key && key !== 'index');
      ths[k].classList.toggle('asc', sortAsc);
    }
  }
  function testRow(i) {
    var t = tests[i];
    var tr = el('tr', 'row');
    tr.dataset.index = i;
    tr.dataset.outcome = t.o;
    if (i === selected) tr.classList.add('selected');
    add(tr, el('td', 'num', i + 1), outcomeCell(t.o), el('td', 'id', t.id), el('td', null, laneLabel(t.lane)),
      el('td', 'num', t.lane >= 0 ? fmtDur(t.s) : ''), el('td', 'num', fmtDur(t.d)));
    return tr;
  }
  function showMore() {
    var body = $('tests-body');
    var end = Math.min(matched.length, shown + PAGE);
    var frag = document.createDocumentFragment();
    for (var k = shown; k < end; k++) frag.appendChild(testRow(matched[k]));
    body.appendChild(frag);
    shown = end;
    var more = $('more');
    var rest = matched.length - shown;
    more.hidden = rest <= 0;
    more.textContent = 'show ' + Math.min(PAGE, rest) + ' more (' + rest + ' not shown)';
    var table = $('tests');
    table.dataset.matched = matched.length;
    table.dataset.shown = shown;
  }
  function rowClick(ev) {
    var row = ev.target.closest('tr');
    if (row && row.dataset.index !== undefined) open(+row.dataset.index);
  }

  // ---- the timeline ----
  var canvas = $('timeline');
  var ctx = canvas.getContext('2d');
  var G = { gutter: 92, right: 20, axis: 30, laneH: 22, W: 0, H: 0, plotW: 1 };
  var laneItems = []; // per lane: [{i, a, s, e}] sorted by start; a is an attempt index or -1
  var nbars = 0;
  lanes.forEach(function () { laneItems.push([]); });
  tests.forEach(function (t, i) {
    if (t.lane >= 0) { laneItems[t.lane].push({ i: i, a: -1, s: t.s, e: t.e }); nbars++; }
    (t.attempts || []).forEach(function (at, k) {
      if (at.lane >= 0) laneItems[at.lane].push({ i: i, a: k, s: at.s, e: at.e });
    });
  });
  laneItems.forEach(function (items) { items.sort(function (a, b) { return a.s - b.s || a.e - b.e; }); });
  canvas.dataset.bars = nbars;
  canvas.dataset.lanes = lanes.length;

  function layout() {
    var wrap = $('timeline-wrap');
    G.W = Math.max(320, wrap.clientWidth);
    G.laneH = Math.max(7, Math.min(26, Math.floor(560 / Math.max(1, lanes.length))));
    G.H = G.axis + Math.max(1, lanes.length) * G.laneH + 6;
    G.plotW = Math.max(10, G.W - G.gutter - G.right);
    var dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(G.W * dpr);
    canvas.height = Math.round(G.H * dpr);
    canvas.style.height = G.H + 'px';
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }
  function X(t) { return G.gutter + (t - view[0]) / (view[1] - view[0]) * G.plotW; }
  function tAt(x) { return view[0] + (x - G.gutter) / G.plotW * (view[1] - view[0]); }
  function laneY(l) { return G.axis + l * G.laneH; }

  function drawCross(c, x, y, r) {
    c.lineCap = 'round';
    c.strokeStyle = '#fff';
    c.lineWidth = Math.max(3, r * 0.75);
    c.beginPath(); c.moveTo(x - r, y - r); c.lineTo(x + r, y + r); c.moveTo(x + r, y - r); c.lineTo(x - r, y + r); c.stroke();
    c.strokeStyle = COLORS.crashed;
    c.lineWidth = Math.max(2, r * 0.42);
    c.beginPath(); c.moveTo(x - r, y - r); c.lineTo(x + r, y + r); c.moveTo(x + r, y - r); c.lineTo(x - r, y + r); c.stroke();
  }
  function drawClock(c, x, y, r) {
    c.fillStyle = '#fff';
    c.beginPath(); c.arc(x, y, r + 1.5, 0, Math.PI * 2); c.fill();
    c.fillStyle = COLORS.timeout;
    c.beginPath(); c.arc(x, y, r, 0, Math.PI * 2); c.fill();
    c.fillStyle = '#5c2b00';
    c.fillRect(x - r * 0.3, y - r - 2.5, r * 0.6, 2);
    c.strokeStyle = '#fff';
    c.lineWidth = Math.max(1.5, r * 0.22);
    c.lineCap = 'round';
    c.beginPath(); c.moveTo(x, y); c.lineTo(x, y - r * 0.7); c.moveTo(x, y); c.lineTo(x + r * 0.55, y + r * 0.1); c.stroke();
  }
  var hatch = null;
  function hatchPattern() {
    if (hatch) return hatch;
    var p = document.createElement('canvas');
    p.width = p.height = 8;
    var c = p.getContext('2d');
    c.strokeStyle = 'rgba(123,10,10,0.22)';
    c.lineWidth = 1.5;
    c.beginPath(); c.moveTo(0, 8); c.lineTo(8, 0); c.moveTo(-2, 2); c.lineTo(2, -2); c.moveTo(6, 10); c.lineTo(10, 6); c.stroke();
    hatch = ctx.createPattern(p, 'repeat');
    return hatch;
  }
  function niceStep(span) {
    var target = span * 90 / G.plotW;
    var steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    for (var k = 0; k < steps.length; k++) if (steps[k] >= target) return steps[k];
    return Math.ceil(target / 3600) * 3600;
  }
  function fmtTick(t, step) {
    if (step >= 60) {
      var m = Math.floor(t / 60), s = Math.round(t - m * 60);
      return m + ':' + (s < 10 ? '0' : '') + s;
    }
    var dec = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3;
    return t.toFixed(dec) + 's';
  }
  function shortName(id) {
    var k = id.lastIndexOf('::');
    return k >= 0 ? id.slice(k + 2) : id;
  }

  var drag = null;
  function draw() {
    var c = ctx, W = G.W, lh = G.laneH, plotR = G.gutter + G.plotW;
    var bottom = G.axis + lanes.length * lh;
    c.clearRect(0, 0, W, G.H);
    c.font = '11px system-ui, "DejaVu Sans", sans-serif';
    c.textBaseline = 'middle';
    if (!lanes.length) {
      c.fillStyle = '#6c757d';
      c.fillText('no test ran on a worker', G.gutter, G.axis + lh / 2);
      return;
    }
    // lanes
    for (var l = 0; l < lanes.length; l++) {
      var y = laneY(l), ln = lanes[l];
      c.fillStyle = l % 2 ? '#f8f9fa' : '#fff';
      c.fillRect(0, y, W, lh);
      var a0 = Math.max(G.gutter, X(ln.start)), a1 = Math.min(plotR, X(ln.death >= 0 ? ln.death_at : ln.stop));
      if (a1 > a0) { c.fillStyle = 'rgba(33,37,41,0.045)'; c.fillRect(a0, y + 1, a1 - a0, lh - 2); }
      if (ln.death >= 0) {
        var dx = Math.max(G.gutter, X(ln.death_at));
        if (dx < plotR) { c.fillStyle = hatchPattern(); c.fillRect(dx, y, plotR + G.right - dx, lh); }
      }
      c.textAlign = 'right';
      c.fillStyle = ln.death >= 0 ? COLORS.crashed : '#495057';
      c.font = (ln.death >= 0 ? 'bold ' : '') + Math.min(12, Math.max(9, lh - 6)) + 'px system-ui, "DejaVu Sans", sans-serif';
      if (lh >= 9) c.fillText(ln.label, G.gutter - 8, y + lh / 2);
    }
    c.font = '11px system-ui, "DejaVu Sans", sans-serif';
    // axis and grid
    var span = view[1] - view[0], step = niceStep(span);
    c.textAlign = 'center';
    for (var t = Math.ceil(view[0] / step) * step; t <= view[1] + 1e-9; t += step) {
      var x = X(t);
      c.fillStyle = '#e9ecef';
      c.fillRect(Math.round(x), G.axis, 1, bottom - G.axis);
      c.fillStyle = '#868e96';
      c.fillRect(Math.round(x), G.axis - 5, 1, 5);
      c.fillText(fmtTick(t, step), Math.min(Math.max(x, G.gutter + 12), W - 18), G.axis - 12);
    }
    c.fillStyle = '#adb5bd';
    c.fillRect(G.gutter, G.axis - 1, G.plotW, 1);
    // exclusive phase
    c.save();
    c.beginPath(); c.rect(G.gutter, 0, G.plotW + G.right, G.H); c.clip();
    D.exclusive.forEach(function (b) {
      var x0 = X(b[0]), x1 = Math.max(X(b[1]), x0 + 2);
      c.fillStyle = 'rgba(112,72,232,0.12)';
      c.fillRect(x0, G.axis, x1 - x0, bottom - G.axis);
      c.strokeStyle = 'rgba(112,72,232,0.7)';
      c.setLineDash([4, 3]);
      c.lineWidth = 1;
      c.strokeRect(x0 + 0.5, G.axis + 0.5, x1 - x0 - 1, bottom - G.axis - 1);
      c.setLineDash([]);
      c.fillStyle = '#5f3dc4';
      c.textAlign = 'left';
      c.font = 'bold 11px system-ui, "DejaVu Sans", sans-serif';
      var lw = c.measureText('exclusive phase').width;
      c.fillText('exclusive phase', Math.max(G.gutter + 2, Math.min(x0 + 3, W - lw - 2)), 7);
      c.font = '11px system-ui, "DejaVu Sans", sans-serif';
    });
    // bars: one fillRect each, batched by colour
    var pad = lh >= 12 ? 3 : 1, bh = lh - 2 * pad;
    var groups = {}, faint = [], tries = {};
    for (l = 0; l < lanes.length; l++) {
      var items = laneItems[l], by = laneY(l) + pad;
      for (var k = 0; k < items.length; k++) {
        var it = items[k];
        if (it.e < view[0] || it.s > view[1]) continue;
        var x0 = X(it.s), x1 = X(it.e), w = x1 - x0;
        if (w >= 4) w -= 1; else if (w < 1) w = 1;
        var tt = tests[it.i];
        if (!match[it.i]) { faint.push(x0, by, w); continue; }
        var o = it.a < 0 ? tt.o : tt.attempts[it.a].o;
        var g = it.a < 0 ? groups : tries;
        (g[o] || (g[o] = [])).push(x0, by, w);
      }
    }
    function fill(list, color, alpha) {
      c.globalAlpha = alpha;
      c.fillStyle = color;
      for (var k = 0; k < list.length; k += 3) c.fillRect(list[k], list[k + 1], list[k + 2], bh);
      c.globalAlpha = 1;
    }
    fill(faint, '#dee2e6', 1);
    Object.keys(tries).forEach(function (o) { fill(tries[o], COLORS[o] || '#868e96', 0.45); });
    Object.keys(groups).forEach(function (o) { fill(groups[o], COLORS[o] || '#868e96', 1); });
    // the selected test
    if (selected >= 0 && tests[selected].lane >= 0) {
      var st = tests[selected];
      c.strokeStyle = '#1c7ed6';
      c.lineWidth = 2;
      c.strokeRect(X(st.s) - 1, laneY(st.lane) + pad - 1, Math.max(2, X(st.e) - X(st.s)) + 2, bh + 2);
    }
    // worker deaths: a line down the lane, the marker at the end of the bar,
    // and what killed it
    var crashes = 0, timeouts = 0;
    var r = Math.max(3.5, Math.min(8, lh / 2 - 2));
    lanes.forEach(function (ln, l) {
      if (ln.death < 0) return;
      var x = X(ln.death_at), y = laneY(l), cy = y + lh / 2;
      if (x < G.gutter - r || x > plotR + G.right) return;
      c.fillStyle = ln.death_kind === 'timeout' ? '#d9480f' : COLORS.crashed;
      c.fillRect(x - 1, y, 2, lh);
      if (ln.death_kind === 'timeout') { drawClock(c, x, cy, r); timeouts++; } else { drawCross(c, x, cy, r); crashes++; }
      if (lh >= 12) {
        var dt = tests[ln.death];
        var cause = dt.crash && dt.crash.cause ? dt.crash.cause : ln.death_kind;
        if (ln.death_kind === 'timeout') cause = 'timeout';
        c.font = 'bold 11px system-ui, "DejaVu Sans", sans-serif';
        c.textAlign = 'left';
        c.fillStyle = ln.death_kind === 'timeout' ? '#d9480f' : COLORS.crashed;
        var label = cause + '  ' + shortName(dt.id), tw = c.measureText(label).width;
        if (x + r + 5 + tw <= W - 2) {
          c.fillText(label, x + r + 5, cy);
        } else {
          c.fillStyle = 'rgba(255,255,255,0.85)';
          c.fillRect(x - r - 8 - tw, cy - 7, tw + 6, 14);
          c.fillStyle = ln.death_kind === 'timeout' ? '#d9480f' : COLORS.crashed;
          c.textAlign = 'right';
          c.fillText(label, x - r - 5, cy);
        }
        c.font = '11px system-ui, "DejaVu Sans", sans-serif';
      }
    });
    c.restore();
    canvas.dataset.crashMarkers = crashes;
    canvas.dataset.timeoutMarkers = timeouts;
    // the drag selection
    if (drag && drag.moved) {
      var s0 = Math.min(drag.x0, drag.x1), s1 = Math.max(drag.x0, drag.x1);
      c.fillStyle = 'rgba(28,126,214,0.15)';
      c.fillRect(s0, G.axis, s1 - s0, bottom - G.axis);
      c.strokeStyle = 'rgba(28,126,214,0.8)';
      c.lineWidth = 1;
      c.strokeRect(s0 + 0.5, G.axis + 0.5, s1 - s0 - 1, bottom - G.axis - 1);
    }
  }

  // hit finds the test bar (or earlier attempt) under a point of the canvas.
  function hit(mx, my) {
    if (mx < G.gutter - 4 || my < G.axis) return null;
    var l = Math.floor((my - G.axis) / G.laneH);
    if (l < 0 || l >= lanes.length) return null;
    var t = tAt(mx), tol = 4 * (view[1] - view[0]) / G.plotW;
    var ln = lanes[l];
    if (ln.death >= 0 && Math.abs(t - ln.death_at) <= 2 * tol) {
      return { i: ln.death, a: tests[ln.death].lane === l ? -1 : lastAttemptOn(ln.death, l) };
    }
    var items = laneItems[l], lo = 0, hi = items.length - 1, best = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (items[mid].s <= t + tol) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    for (var k = best; k >= 0 && k >= best - 3; k--) {
      var it = items[k];
      if (t >= it.s - tol && t <= it.e + tol) return it;
    }
    return null;
  }
  function lastAttemptOn(i, l) {
    var as = tests[i].attempts || [];
    for (var k = as.length - 1; k >= 0; k--) if (as[k].lane === l) return k;
    return -1;
  }

  var tip = $('tooltip');
  function showTip(h, ev) {
    var t = tests[h.i];
    var rec = h.a < 0 ? t : t.attempts[h.a];
    tip.textContent = '';
    add(tip, el('div', 'tt-id', t.id));
    var line = rec.o + ' \u00b7 ' + fmtDur(rec.d) + ' \u00b7 ' + laneLabel(rec.lane) + ' \u00b7 ' + fmtDur(rec.s) + ' \u2192 ' + fmtDur(rec.e);
    add(tip, el('div', null, line));
    if (h.a >= 0) add(tip, el('div', 'tt-sub', 'earlier attempt ' + (h.a + 1) + ' of ' + (t.attempts.length + 1) + '; finally ' + t.o));
    if (rec.crash) add(tip, add(el('div', 'tt-sub'), deathIcon(rec.o), rec.crash.verdict));
    else if (rec.msg) add(tip, el('div', 'tt-sub', rec.msg.length > 200 ? rec.msg.slice(0, 200) + '\u2026' : rec.msg));
    tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 4) x = Math.max(4, ev.clientX - r.width - 14);
    if (y + r.height > window.innerHeight - 4) y = Math.max(4, ev.clientY - r.height - 14);
    tip.style.left = x + 'px';
    tip.style.top = y + 'px';
  }
  function pos(ev) {
    var r = canvas.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  }
  canvas.addEventListener('mousedown', function (ev) {
    var p = pos(ev);
    if (ev.button !== 0 || p[0] < G.gutter) return;
    drag = { x0: p[0], x1: p[0], moved: false };
    ev.preventDefault();
  });
  canvas.addEventListener('mousemove', function (ev) {
    var p = pos(ev);
    if (drag) {
      drag.x1 = Math.max(G.gutter, Math.min(G.gutter + G.plotW, p[0]));
      if (Math.abs(drag.x1 - drag.x0) > 4) drag.moved = true;
      if (drag.moved) { tip.hidden = true; draw(); return; }
    }
    var h = hit(p[0], p[1]);
    canvas.style.cursor = h ? 'pointer' : 'crosshair';
    if (h) showTip(h, ev); else tip.hidden = true;
  });
  canvas.addEventListener('mouseleave', function () {
    tip.hidden = true;
    if (drag) { drag = null; draw(); }
  });
  window.addEventListener('mouseup', function (ev) {
    if (!drag) return;
    var d = drag;
    drag = null;
    if (d.moved) {
      var t0 = tAt(Math.min(d.x0, d.x1)), t1 = tAt(Math.max(d.x0, d.x1));
      if (t1 - t0 > 1e-6) { view = [t0, t1]; $('zoom-reset').disabled = false; }
      draw();
      return;
    }
    var p = pos(ev);
    var h = hit(p[0], p[1]);
    if (h) open(h.i, h.a);
  });
  $('zoom-reset').addEventListener('click', function () {
    view = [0, T];
    $('zoom-reset').disabled = true;
    draw();
  });
  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; layout(); draw(); });
  });

  // ---- legend and the list of worker deaths ----
  function icon(paint) {
    var cv = document.createElement('canvas');
    var dpr = window.devicePixelRatio || 1;
    cv.width = 18 * dpr; cv.height = 14 * dpr;
    cv.style.width = '18px'; cv.style.height = '14px';
    cv.style.verticalAlign = '-2px';
    cv.style.marginRight = '4px';
    var c = cv.getContext('2d');
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    paint(c);
    return cv;
  }
  // deathIcon is the timeline's marker for a worker that crashed (a cross)
  // or was killed for a timeout (a clock), as an element: drawn, so it needs
  // no emoji font.
  function deathIcon(kind) {
    return icon(kind === 'timeout' ? function (c) { drawClock(c, 9, 8, 5); } : function (c) { drawCross(c, 9, 7, 4.5); });
  }
  function renderLegend() {
    var box = $('legend');
    var seen = {};
    D.outcomes.forEach(function (o) {
      if (!D.summary[o] || o === 'not_run') return;
      var color = COLORS[o];
      var key = color + (o === 'xfailed' ? 'skipped' : o);
      if (seen[key]) return;
      seen[key] = true;
      var name = o === 'skipped' && D.summary.xfailed ? 'skipped / xfailed' : o === 'xfailed' && D.summary.skipped ? null : o;
      if (!name) return;
      add(box, add(el('span'), icon(function (c) { c.fillStyle = color; c.fillRect(1, 3, 16, 8); }), name));
    });
    if (lanes.some(function (l) { return l.death >= 0 && l.death_kind !== 'timeout'; })) {
      add(box, add(el('span'), deathIcon('crashed'), 'worker died on this test'));
    }
    if (lanes.some(function (l) { return l.death_kind === 'timeout'; })) {
      add(box, add(el('span'), deathIcon('timeout'), 'timed out: worker killed'));
    }
    if (lanes.some(function (l) { return l.death >= 0; })) {
      add(box, add(el('span'), icon(function (c) { c.fillStyle = hatchPattern(); c.fillRect(0, 0, 18, 14); }), 'process gone (its replacement is the next lane, #2, #3...)'));
    }
    if (D.exclusive.length) {
      add(box, add(el('span'), icon(function (c) {
        c.fillStyle = 'rgba(112,72,232,0.12)'; c.fillRect(1, 1, 16, 12);
        c.strokeStyle = 'rgba(112,72,232,0.7)'; c.setLineDash([3, 2]); c.strokeRect(1.5, 1.5, 15, 11);
      }), 'exclusive phase: nothing else runs'));
    }
    if (tests.some(function (t) { return t.attempts && t.attempts.length; })) {
      add(box, add(el('span'), icon(function (c) { c.globalAlpha = 0.45; c.fillStyle = COLORS.failed; c.fillRect(1, 3, 16, 8); }), 'earlier attempt of a retried test'));
    }
  }
  function renderDeaths() {
    var dead = [];
    lanes.forEach(function (ln, l) { if (ln.death >= 0) dead.push(l); });
    if (!dead.length) return;
    dead.sort(function (a, b) { return lanes[a].death_at - lanes[b].death_at; });
    var box = $('deaths');
    add(box, el('h2', null, 'Worker deaths'));
    var table = el('table', 'grid clickable');
    var head = el('tr');
    add(head, el('th', null, ''), el('th', null, 'process'), el('th', 'num', 'at'), el('th', null, 'cause'), el('th', null, 'test it was running'));
    add(table, add(el('thead'), head));
    var body = el('tbody');
    dead.forEach(function (l) {
      var ln = lanes[l], t = tests[ln.death];
      var tr = el('tr');
      tr.dataset.index = ln.death;
      var rec = t.lane === l ? t : (t.attempts || [])[lastAttemptOn(ln.death, l)] || t;
      var cause = rec.crash ? rec.crash.verdict : ln.death_kind;
      add(tr, add(el('td'), deathIcon(ln.death_kind)), el('td', null, ln.label), el('td', 'num', fmtDur(ln.death_at)),
        el('td', null, cause), el('td', 'id', t.id));
      body.appendChild(tr);
    });
    table.appendChild(body);
    body.addEventListener('click', rowClick);
    box.appendChild(table);
  }

  // ---- the details panel ----
  function pre(text) { return el('pre', null, text); }
  function crashBlock(box, crash, outcome) {
    add(box, add(el('h4'), deathIcon(outcome), outcome === 'timeout' ? 'Timeout: the worker was killed' : 'The worker died'));
    add(box, el('p', 'verdict', crash.verdict));
    var facts = [];
    if (crash.signal) facts.push('signal ' + crash.signal);
    if (crash.exit_code !== undefined && crash.exit_code !== null) facts.push('exit code ' + crash.exit_code);
    if (crash.phase) facts.push('phase ' + crash.phase);
    if (crash.kill_stage) facts.push('kill stage ' + crash.kill_stage);
    if (facts.length) add(box, el('p', 'facts', facts.join(' \u00b7 ')));
    if (crash.stderr_tail) add(box, el('h4', null, 'Worker stderr (tail)'), pre(crash.stderr_tail));
    if (crash.prior_tests && crash.prior_tests.length) {
      add(box, el('h4', null, 'Tests run earlier by this worker process (' + crash.prior_tests.length + ', oldest first)'));
      var ol = el('ol');
      crash.prior_tests.forEach(function (id) {
        var li = el('li');
        if (byId[id] !== undefined) {
          var a = el('a', null, id);
          a.addEventListener('click', function () { open(byId[id]); });
          li.appendChild(a);
        } else li.textContent = id;
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }
  }
  function sectionsBlock(box, sections) {
    (sections || []).forEach(function (s) { add(box, el('h4', null, s.title), pre(s.content)); });
  }
  function open(i, attempt) {
    var t = tests[i];
    selected = i;
    var body = $('details-body');
    body.textContent = '';
    add(body, el('h3', null, t.id));
    var badge = el('span', 'badge', t.o);
    badge.style.background = COLORS[t.o] || '#868e96';
    var facts = [];
    if (t.lane >= 0) facts.push('on ' + laneLabel(t.lane), 'started at ' + fmtDur(t.s), 'took ' + fmtDur(t.d));
    if (t.policy) facts.push('policy ' + t.policy);
    if (t.attempts && t.attempts.length) facts.push((t.attempts.length + 1) + ' attempts');
    add(body, add(el('p', 'facts'), badge, ' ' + facts.join(' \u00b7 ')));
    if (t.msg) add(body, el('p', 'msg', t.msg));
    if (t.reason && t.reason !== t.msg) add(body, el('p', null, t.reason));
    if (t.crash) crashBlock(body, t.crash, t.o);
    if (t.diagnosis) {
      var dg = t.diagnosis;
      add(body, el('h4', null, 'Diagnosis (rerun alone in a fresh worker)'));
      if (dg.summary) add(body, el('p', null, dg.summary));
      var df = [];
      if (dg.rerun) df.push('rerun: ' + dg.rerun);
      df.push('crashed alone: ' + (dg.crashed_alone ? 'yes' : 'no'));
      if (dg.cause) df.push('cause: ' + dg.cause);
      add(body, el('p', 'facts', df.join(' \u00b7 ')));
      if (dg.marker) add(body, pre(dg.marker));
    }
    if (t.leaks && t.leaks.length) {
      add(body, el('h4', null, 'Leaks: left running by the test'));
      var ul = el('ul');
      t.leaks.forEach(function (s) { ul.appendChild(el('li', null, s)); });
      body.appendChild(ul);
    }
    if (t.longrepr) add(body, el('h4', null, t.o === 'skipped' || t.o === 'xfailed' ? 'Reason' : 'Failure'), pre(t.longrepr));
    (t.extra || []).forEach(function (x) {
      add(body, el('h4', null, 'Error at ' + x.when));
      if (x.msg) add(body, el('p', 'msg', x.msg));
      if (x.longrepr) add(body, pre(x.longrepr));
      sectionsBlock(body, x.sections);
    });
    sectionsBlock(body, t.sections);
    if (t.attempts && t.attempts.length) {
      add(body, el('h4', null, 'Earlier attempts (' + t.attempts.length + ')'));
      t.attempts.forEach(function (a, k) {
        var det = el('details', 'attempt');
        if (attempt === k) det.open = true;
        var sum = el('summary');
        add(sum, chip(a.o), 'attempt ' + (k + 1) + ': ' + a.o + (a.lane >= 0 ? ' on ' + laneLabel(a.lane) : '') + ' \u00b7 ' + fmtDur(a.d));
        det.appendChild(sum);
        if (a.msg) add(det, el('p', 'msg', a.msg));
        if (a.crash) crashBlock(det, a.crash, a.o);
        if (a.longrepr) add(det, pre(a.longrepr));
        sectionsBlock(det, a.sections);
        body.appendChild(det);
      });
    }
    $('details').hidden = false;
    $('details').scrollTop = 0;
    var rows = document.querySelectorAll('tr.selected');
    for (var k = 0; k < rows.length; k++) rows[k].classList.remove('selected');
    var mine = document.querySelectorAll('#tests-body tr[data-index="' + i + '"]');
    for (k = 0; k < mine.length; k++) mine[k].classList.add('selected');
    draw();
  }
  function closeDetails() {
    $('details').hidden = true;
    selected = -1;
    var rows = document.querySelectorAll('tr.selected');
    for (var k = 0; k < rows.length; k++) rows[k].classList.remove('selected');
    draw();
  }
  $('details-close').addEventListener('click', closeDetails);
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape' && !$('details').hidden) closeDetails(); });

  $('tests-body').addEventListener('click', rowClick);
  $('more').addEventListener('click', showMore);
  document.querySelector('#tests thead').addEventListener('click', function (ev) {
    var th = ev.target.closest('th');
    if (!th || !th.dataset.sort) return;
    if (sortKey === th.dataset.sort) sortAsc = !sortAsc;
    else { sortKey = th.dataset.sort; sortAsc = sortKey !== 'd'; }
    sortMatched();
    shown = 0;
    $('tests-body').textContent = '';
    showMore();
  });
  window.addEventListener('hashchange', function () {
    D.outcomes.forEach(function (o) { on[o] = true; });
    query = '';
    openAtLoad = null;
    readHash();
    syncFilters();
    apply();
    if (openAtLoad !== null && byId[openAtLoad] !== undefined) open(byId[openAtLoad]);
  });

  readHash();
  renderHeader();
  renderSummary();
  renderSlowest();
  renderCollectionErrors();
  renderFilters();
  renderLegend();
  renderDeaths();
  layout();
  apply();
  if (openAtLoad !== null && byId[openAtLoad] !== undefined) open(byId[openAtLoad]);
  // How long loading and the first render took, for tests of large runs.
  if (window.performance && performance.now) document.body.dataset.renderMs = String(Math.round(performance.now()));
  document.body.dataset.ready = '1';
})();
