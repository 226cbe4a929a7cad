// lbsim's interactive report charts: vanilla JavaScript drawing inline SVG from the results
// embedded as JSON (#lbsim-data), so report.html stays one file that works offline.
// Line charts against the swept x axis (bar charts when nothing is swept), with 95 % bands,
// theory and SLO lines, hover values, strategy toggles, a log/linear switch and one selector
// per other axis of a multi-axis sweep; and the backends' queues replayed over time (the
// recorded number-in-system series), strategies side by side. Written by
// src/report/interactive.rs.
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('lbsim-data').textContent);
  var root = document.getElementById('interactive');
  if (!root) return;
  // The SVG namespace, taken from a parsed element (the file holds no URL at all).
  var probe = document.createElement('div');
  probe.innerHTML = '<svg></svg>';
  var NS = probe.firstChild.namespaceURI;
  // Okabe–Ito, in the order of the static charts (src/plot/style.rs).
  var PALETTE = ['#0072b2', '#e69f00', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#000000', '#f0e442'];
  var xAxis = D.x_axis;
  var bars = D.axes.length === 0 || xAxis === null;
  var state = { shown: D.strategies.map(function () { return true; }), log: false, fixed: {} };
  D.axes.forEach(function (a, k) { if (k !== xAxis) state.fixed[k] = a.values[0]; });

  function colour(s) { return PALETTE[s % PALETTE.length]; }
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(tag, attrs, text, parent) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function finite(v) { return typeof v === 'number' && isFinite(v); }
  function sig(v, n) { return finite(v) ? String(Number(v.toPrecision(n || 3))) : '–'; }
  function fmt(v, unit) {
    if (!finite(v)) return '–';
    if (unit === 's') {
      var a = Math.abs(v);
      if (a === 0) return '0';
      if (a < 1e-3) return sig(v * 1e6) + ' µs';
      if (a < 1) return sig(v * 1e3) + ' ms';
      return sig(v) + ' s';
    }
    if (unit === 'fraction') return sig(v * 100) + ' %';
    return sig(v, 4) + (unit ? ' ' + unit : '');
  }
  function est(e) { return e && finite(e[0]) ? e : null; }

  // The points of the chosen slice (other axes at their selected values), by increasing x.
  function slice() {
    return D.points.filter(function (p) {
      return p.values.every(function (v, k) { return k === xAxis || state.fixed[k] === v; });
    }).sort(function (a, b) { return a.values[xAxis] - b.values[xAxis]; });
  }

  // Ticks: "nice" linear steps, or 1–2–5 per decade on a log axis.
  function ticks(lo, hi, log, n) {
    var out = [];
    if (log) {
      for (var d = Math.floor(Math.log10(lo)); d <= Math.ceil(Math.log10(hi)); d++) {
        [1, 2, 5].forEach(function (m) { var t = m * Math.pow(10, d); if (t >= lo && t <= hi) out.push(t); });
      }
      if (out.length > 8) out = out.filter(function (t) { return Math.abs(Math.log10(t) % 1) < 1e-9; });
      return out;
    }
    var raw = (hi - lo) / (n || 5), p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    var step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }
  function scale(lo, hi, a, b, log) {
    if (log) { var l0 = Math.log10(lo), l1 = Math.log10(hi); return function (v) { return a + (Math.log10(v) - l0) / (l1 - l0) * (b - a); }; }
    return function (v) { return a + (v - lo) / (hi - lo) * (b - a); };
  }
  function range(values, log) {
    var vs = values.filter(function (v) { return finite(v) && (!log || v > 0); });
    if (!vs.length) return log ? [0.1, 10] : [0, 1];
    var lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs);
    if (log) return lo === hi ? [lo / 2, hi * 2] : [lo / 1.15, hi * 1.15];
    lo = Math.min(0, lo);
    return hi === lo ? [lo, lo + 1] : [lo, hi + (hi - lo) * 0.06];
  }

  // Controls: strategy toggles, the log switch, the slice selectors.
  var controls = html('div', { 'class': 'controls', role: 'group', 'aria-label': 'strategies' }, undefined, root);
  D.strategies.forEach(function (name, s) {
    var b = html('button', { type: 'button', 'class': 'toggle', 'data-strategy': String(s), 'aria-pressed': 'true' }, undefined, controls);
    var sw = html('span', { 'class': 'swatch' }, undefined, b);
    sw.style.background = colour(s);
    b.appendChild(document.createTextNode(name));
    b.addEventListener('click', function () {
      state.shown[s] = !state.shown[s];
      b.setAttribute('aria-pressed', String(state.shown[s]));
      drawAll();
    });
  });
  var view = html('div', { 'class': 'controls' }, undefined, root);
  if (!bars) {
    var logButton = html('button', { type: 'button', 'class': 'toggle', id: 'log-toggle', 'aria-pressed': 'false' }, 'log scale (y)', view);
    logButton.addEventListener('click', function () {
      state.log = !state.log;
      logButton.setAttribute('aria-pressed', String(state.log));
      drawAll();
    });
    D.axes.forEach(function (a, k) {
      if (k === xAxis) return;
      var label = html('label', {}, a.path + ' = ', view);
      var sel = html('select', { 'data-axis': String(k) }, undefined, label);
      a.values.forEach(function (v, i) { html('option', { value: String(i) }, sig(v, 6), sel); });
      sel.addEventListener('change', function () { state.fixed[k] = a.values[+sel.value]; drawAll(); });
    });
  }

  var charts = D.metrics.map(function (m) {
    var box = html('div', { 'class': 'ichart' }, undefined, root);
    html('h3', {}, m.label.charAt(0).toUpperCase() + m.label.slice(1) + (bars ? '' : ' against ' + D.x_label), box);
    var svg = el('svg', { 'data-chart': m.key, role: 'img', 'aria-label': m.label }, box);
    var tip = html('div', { 'class': 'tip' }, undefined, box);
    return { metric: m, box: box, svg: svg, tip: tip };
  });

  function axes(svg, W, H, M, xs, ys, xt, yt, xfmt, yfmt) {
    yt.forEach(function (t) {
      var y = ys(t);
      el('line', { 'class': 'grid', x1: M.l, x2: W - M.r, y1: y, y2: y }, svg);
      el('text', { x: M.l - 5, y: y + 4, 'text-anchor': 'end' }, svg).textContent = yfmt(t);
    });
    xt.forEach(function (t) {
      var x = xs(t);
      el('line', { 'class': 'grid', x1: x, x2: x, y1: M.t, y2: H - M.b }, svg);
      el('text', { x: x, y: H - M.b + 16, 'text-anchor': 'middle' }, svg).textContent = xfmt(t);
    });
    el('line', { 'class': 'axis', x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }, svg);
    el('line', { 'class': 'axis', x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }, svg);
  }
  function path(points) {
    return points.map(function (p, i) { return (i ? 'L' : 'M') + p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join('');
  }
  function showTip(c, x, y, lines) {
    c.tip.textContent = '';
    lines.forEach(function (l, i) {
      var row = html('div', {}, undefined, c.tip);
      if (l.s !== undefined) { var sw = html('span', { 'class': 'swatch' }, undefined, row); sw.style.background = colour(l.s); row.appendChild(document.createTextNode(' ')); }
      var t = html(i ? 'span' : 'strong', {}, l.text, row);
      t.style.whiteSpace = 'nowrap';
    });
    c.tip.style.display = 'block';
    var w = c.box.clientWidth, tw = c.tip.offsetWidth;
    c.tip.style.left = Math.max(0, Math.min(x + 12, w - tw)) + 'px';
    c.tip.style.top = (y + 12) + 'px';
  }

  function drawLines(c) {
    var m = c.metric, svg = c.svg, W = Math.max(280, c.box.clientWidth), H = W < 500 ? 240 : 320;
    var M = { l: W < 500 ? 52 : 64, r: 12, t: 12, b: 34 };
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('height', H);
    var pts = slice(), xsVals = pts.map(function (p) { return p.values[xAxis]; });
    var yvals = [];
    pts.forEach(function (p) {
      p.results.forEach(function (r, s) {
        var e = est(r[m.key]);
        if (!state.shown[s] || !e || r.saturated) return;
        yvals.push(e[0]);
        if (m.band) { yvals.push(e[1]); yvals.push(e[2]); }
        if (m.key === 'mean_response' && finite(r.theory)) yvals.push(r.theory);
      });
    });
    if (D.slo && D.slo.metric === m.key) yvals.push(D.slo.limit);
    var log = state.log && m.unit !== 'fraction';
    var yr = range(yvals, log), xr = range(xsVals, false);
    xr = xsVals.length ? [Math.min.apply(null, xsVals), Math.max.apply(null, xsVals)] : [0, 1];
    if (xr[0] === xr[1]) xr = [xr[0] - 0.5, xr[1] + 0.5];
    var xs = scale(xr[0], xr[1], M.l + 8, W - M.r - 8, false), ys = scale(yr[0], yr[1], H - M.b, M.t, log);
    var clampY = function (v) { return Math.max(M.t, Math.min(H - M.b, ys(v))); };
    axes(svg, W, H, M, xs, ys, ticks(xr[0], xr[1], false, W < 500 ? 4 : 7), ticks(yr[0], yr[1], log, 5),
      function (t) { return sig(t, 3); }, function (t) { return fmt(t, m.unit); });
    el('text', { x: (M.l + W - M.r) / 2, y: H - 4, 'text-anchor': 'middle' }, svg).textContent = D.x_label;
    if (D.slo && D.slo.metric === m.key) {
      var sy = ys(D.slo.limit);
      el('line', { 'class': 'slo', x1: M.l, x2: W - M.r, y1: sy, y2: sy, stroke: '#c00', 'stroke-dasharray': '6 4' }, svg);
      el('text', { x: M.l + 6, y: sy - 4, fill: '#c00' }, svg).textContent = 'SLO ' + D.slo.text;
    }
    D.strategies.forEach(function (name, s) {
      if (!state.shown[s]) return;
      var ok = [], band = [], theory = [], sat = [];
      pts.forEach(function (p) {
        var r = p.results[s], e = r && est(r[m.key]);
        if (!e) return;
        var x = xs(p.values[xAxis]);
        if (r.saturated) { sat.push(x); return; }
        ok.push([x, clampY(e[0])]);
        if (m.band && finite(e[1]) && finite(e[2])) band.push([x, clampY(e[1]), clampY(e[2])]);
        if (m.key === 'mean_response' && finite(r.theory)) theory.push([x, clampY(r.theory)]);
      });
      if (band.length > 1) {
        var poly = band.map(function (b) { return [b[0], b[2]]; }).concat(band.slice().reverse().map(function (b) { return [b[0], b[1]]; }));
        el('path', { 'class': 'band', d: path(poly) + 'Z', fill: colour(s), 'fill-opacity': 0.15, stroke: 'none' }, svg);
      }
      if (theory.length > 1) {
        el('path', { 'class': 'theory', d: path(theory), fill: 'none', stroke: '#505050', 'stroke-width': 1.5, 'stroke-dasharray': '5 4', 'data-strategy': name }, svg);
      }
      var line = el('path', { 'class': 'series', 'data-strategy': name, d: path(ok), fill: 'none', stroke: colour(s), 'stroke-width': 2 }, svg);
      line.setAttribute('data-points', String(ok.length));
      ok.forEach(function (p) { el('circle', { cx: p[0], cy: p[1], r: 3, fill: colour(s) }, svg); });
      sat.forEach(function (x) {
        var y = M.t + 6;
        el('path', { 'class': 'saturated', d: 'M' + (x - 4) + ',' + (y - 4) + 'L' + (x + 4) + ',' + (y + 4) + 'M' + (x - 4) + ',' + (y + 4) + 'L' + (x + 4) + ',' + (y - 4), stroke: colour(s), 'stroke-width': 2 }, svg);
      });
    });
    var guide = el('line', { 'class': 'guide', y1: M.t, y2: H - M.b, stroke: '#999', visibility: 'hidden' }, svg);
    var overlay = el('rect', { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: 'transparent' }, svg);
    function hover(ev) {
      if (!pts.length) return;
      var rect = svg.getBoundingClientRect(), px = (ev.clientX - rect.left) * W / rect.width;
      var best = pts[0];
      pts.forEach(function (p) { if (Math.abs(xs(p.values[xAxis]) - px) < Math.abs(xs(best.values[xAxis]) - px)) best = p; });
      var gx = xs(best.values[xAxis]);
      guide.setAttribute('x1', gx); guide.setAttribute('x2', gx); guide.setAttribute('visibility', 'visible');
      var lines = [{ text: D.x_label.split(' (')[0] + ' = ' + sig(best.values[xAxis], 4) }];
      best.results.forEach(function (r, s) {
        if (!state.shown[s]) return;
        var e = est(r[m.key]), t = D.strategies[s] + ': ';
        if (!e) t += '–';
        else if (r.saturated) t += 'saturated';
        else {
          t += fmt(e[0], m.unit);
          if (m.band && finite(e[1]) && finite(e[2])) t += ' [' + fmt(e[1], m.unit) + ', ' + fmt(e[2], m.unit) + ']';
          if (m.key === 'mean_response' && finite(r.theory)) t += ', theory ' + fmt(r.theory, m.unit);
        }
        lines.push({ s: s, text: t });
      });
      showTip(c, gx * rect.width / W, ev.clientY - rect.top, lines);
    }
    overlay.addEventListener('pointermove', hover);
    overlay.addEventListener('pointerdown', hover);
    overlay.addEventListener('pointerleave', function () { c.tip.style.display = 'none'; guide.setAttribute('visibility', 'hidden'); });
  }

  // Nothing swept: one horizontal bar per strategy with its interval and the theory value.
  function drawBars(c) {
    var m = c.metric, svg = c.svg, W = Math.max(280, c.box.clientWidth), p = D.points[0];
    var shown = D.strategies.map(function (n, s) { return s; }).filter(function (s) { return state.shown[s]; });
    var labelW = Math.min(W * 0.4, 8 + 7 * Math.max.apply(null, D.strategies.map(function (n) { return n.length; })));
    var M = { l: labelW, r: 16, t: 8, b: 30 }, row = 30, H = M.t + M.b + row * Math.max(1, shown.length);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.setAttribute('height', H);
    var vals = [];
    shown.forEach(function (s) {
      var r = p.results[s], e = est(r[m.key]);
      if (e) vals.push(e[0], e[1], e[2]);
      if (m.key === 'mean_response' && finite(r.theory)) vals.push(r.theory);
    });
    if (D.slo && D.slo.metric === m.key) vals.push(D.slo.limit);
    var xr = range(vals, false), xs = scale(xr[0], xr[1], M.l, W - M.r, false);
    axes(svg, W, H, M, xs, function (v) { return v; }, ticks(xr[0], xr[1], false, W < 500 ? 3 : 6), [],
      function (t) { return fmt(t, m.unit); }, function () { return ''; });
    if (D.slo && D.slo.metric === m.key) {
      var sx = xs(D.slo.limit);
      el('line', { 'class': 'slo', x1: sx, x2: sx, y1: M.t, y2: H - M.b, stroke: '#c00', 'stroke-dasharray': '6 4' }, svg);
    }
    shown.forEach(function (s, i) {
      var r = p.results[s], e = est(r[m.key]), y = M.t + i * row;
      el('text', { x: M.l - 6, y: y + row / 2 + 4, 'text-anchor': 'end' }, svg).textContent = D.strategies[s];
      if (!e) return;
      var bar = el('rect', { 'class': 'series', 'data-strategy': D.strategies[s], x: xs(xr[0]), y: y + 5, width: Math.max(1, xs(e[0]) - xs(xr[0])), height: row - 10, fill: colour(s), 'fill-opacity': r.saturated ? 0.3 : 0.8 }, svg);
      if (finite(e[1]) && finite(e[2])) {
        el('path', { d: 'M' + xs(e[1]) + ',' + (y + row / 2) + 'H' + xs(e[2]) + 'M' + xs(e[1]) + ',' + (y + 9) + 'V' + (y + row - 9) + 'M' + xs(e[2]) + ',' + (y + 9) + 'V' + (y + row - 9), stroke: '#222', 'stroke-width': 1.2 }, svg);
      }
      if (m.key === 'mean_response' && finite(r.theory)) {
        el('path', { 'class': 'theory', d: 'M' + xs(r.theory) + ',' + (y + 2) + 'V' + (y + row - 2), stroke: '#505050', 'stroke-width': 2, 'stroke-dasharray': '4 3' }, svg);
      }
      function hover(ev) {
        var rect = svg.getBoundingClientRect(), t = D.strategies[s] + ': ' + (r.saturated ? 'saturated' : fmt(e[0], m.unit));
        if (!r.saturated && m.band && finite(e[1]) && finite(e[2])) t += ' [' + fmt(e[1], m.unit) + ', ' + fmt(e[2], m.unit) + ']';
        var lines = [{ s: s, text: t }];
        if (m.key === 'mean_response' && finite(r.theory)) lines.push({ text: 'theory (' + r.theory_model + '): ' + fmt(r.theory, m.unit) });
        showTip(c, ev.clientX - rect.left, ev.clientY - rect.top, lines);
      }
      bar.addEventListener('pointermove', hover);
      bar.addEventListener('pointerdown', hover);
      bar.addEventListener('pointerleave', function () { c.tip.style.display = 'none'; });
    });
  }

  function drawAll() {
    charts.forEach(function (c) {
      while (c.svg.firstChild) c.svg.removeChild(c.svg.firstChild);
      c.tip.style.display = 'none';
      (bars ? drawBars : drawLines)(c);
    });
  }
  var pending = false;
  window.addEventListener('resize', function () {
    if (pending) return;
    pending = true;
    window.requestAnimationFrame(function () { pending = false; drawAll(); });
  });
  drawAll();

  // The teaching animation: every backend's queue replayed from the recorded number-in-system
  // series, one panel per strategy side by side, one square per request in the backend (in
  // service or waiting). Play/pause and a time slider; stepping is by sample.
  var Q = D.queues;
  if (Q && Q.samples > 1 && Q.strategies.length) {
    var qbox = html('div', { 'class': 'queues', id: 'queues' }, undefined, root);
    html('h3', {}, 'Queues over time at load ' + sig(Q.load) + ': one block per request in each backend', qbox);
    var qctl = html('div', { 'class': 'controls' }, undefined, qbox);
    var play = html('button', { type: 'button', 'class': 'toggle', id: 'queue-play', 'aria-pressed': 'false' }, 'play', qctl);
    var slider = html('input', { type: 'range', id: 'queue-time', min: '0', max: String(Q.samples - 1), value: '0', step: '1', 'aria-label': 'time' }, undefined, qctl);
    var clock = html('span', { 'class': 'hint', id: 'queue-clock' }, '', qctl);
    html('p', { 'class': 'hint' }, 'Columns: ' + Q.backends.map(function (b, i) { return (i + 1) + ' = ' + b; }).join(', ') +
      '. Sampled every ' + fmt(Q.interval, 's') + ' of one run; a column stops growing on screen at its top, its count stays exact.', qbox);
    var grid = html('div', { 'class': 'queue-grid' }, undefined, qbox);
    // Squares per column before the column is capped (its count is then written on top).
    var CAP = 20, peak = 1;
    Q.strategies.forEach(function (st) { st.series.forEach(function (b) { b.forEach(function (v) { if (v > peak) peak = v; }); }); });
    // A fixed panel (300 × 240): the columns share its width, the requests its height.
    var rows = Math.min(CAP, peak), nb = Q.backends.length, PW = 300, PH = 240, x0 = 10;
    var colW = (PW - 2 * x0) / nb, cellW = Math.min(colW * 0.6, 44), cellH = (PH - 44) / rows;
    var panels = Q.strategies.map(function (st) {
      var p = html('div', { 'class': 'queue-panel' }, undefined, grid);
      html('div', { 'class': 'queue-title' }, st.strategy + (st.saturated ? ' (saturated)' : ''), p);
      var svg = el('svg', { 'data-queue': st.strategy, viewBox: '0 0 ' + PW + ' ' + PH, role: 'img', 'aria-label': 'queues of ' + st.strategy }, p);
      return { st: st, svg: svg };
    });
    var frame = 0, timer = null;
    function show(k) {
      frame = k;
      panels.forEach(function (pn) {
        var svg = pn.svg;
        while (svg.firstChild) svg.removeChild(svg.firstChild);
        var base = PH - 22;
        el('line', { 'class': 'axis', x1: 4, x2: PW - 4, y1: base + 1, y2: base + 1 }, svg);
        Q.backends.forEach(function (name, b) {
          var n = pn.st.series[b][k] || 0, x = x0 + b * colW + (colW - cellW) / 2;
          for (var i = 0; i < Math.min(n, rows); i++) {
            el('rect', { 'class': 'request', x: x, y: base - (i + 1) * cellH, width: cellW, height: Math.max(1, cellH - 1.5), fill: colour(b) }, svg);
          }
          el('text', { x: x + cellW / 2, y: base - Math.min(n, rows) * cellH - 4, 'text-anchor': 'middle' }, svg).textContent = String(n);
          el('text', { x: x + cellW / 2, y: PH - 6, 'text-anchor': 'middle' }, svg).textContent = String(b + 1);
        });
      });
      slider.value = String(k);
      clock.textContent = 't = ' + fmt((Q.start || 0) + k * Q.interval, 's');
      qbox.setAttribute('data-frame', String(k));
    }
    function stop() {
      if (timer !== null) window.clearInterval(timer);
      timer = null;
      play.textContent = 'play';
      play.setAttribute('aria-pressed', 'false');
    }
    play.addEventListener('click', function () {
      if (timer !== null) { stop(); return; }
      play.textContent = 'pause';
      play.setAttribute('aria-pressed', 'true');
      // About 15 samples a second: the whole series in half a minute.
      timer = window.setInterval(function () { show((frame + 1) % Q.samples); }, 66);
    });
    slider.addEventListener('input', function () { stop(); show(+slider.value); });
    show(0);
  }
})();
