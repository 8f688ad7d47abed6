// The dashboard's progressive behaviour: charts (uPlot), filters that
// apply on change, and the log's live tail. The pages work without it.
(function () {
  'use strict';

  function human(n) {
    var a = Math.abs(n), units = [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']];
    for (var i = 0; i < units.length; i++) {
      if (a >= units[i][0]) {
        var v = a / units[i][0];
        var s = v < 10 ? (Math.floor(v * 10) / 10).toFixed(1).replace(/\.0$/, '') : String(Math.floor(v));
        return (n < 0 ? '-' : '') + s + units[i][1];
      }
    }
    return String(Math.round(n * 100) / 100);
  }

  // Levels keep their colour across charts; errors and failures are red.
  var named = {audit: 0, error: 1, failures: 1, usage: 2, warning: 3, info: 4, debug: 5};

  function color(label, i) {
    var n = label in named ? named[label] : i % 6;
    return getComputedStyle(document.documentElement).getPropertyValue('--c' + n).trim();
  }

  function drawChart(fig) {
    var spec = JSON.parse(fig.dataset.chart);
    var box = fig.querySelector('.plot');
    var css = getComputedStyle(document.documentElement);
    var fg = css.getPropertyValue('--muted').trim(), line = css.getPropertyValue('--line').trim();
    var axis = {stroke: fg, grid: {stroke: line}, ticks: {stroke: line}};
    var series = [{}];
    var data = [spec.x || []];
    (spec.series || []).forEach(function (s, i) {
      var c = color(s.label, i);
      var o = {label: s.label, stroke: c, width: 2, value: function (u, v) { return v == null ? '–' : human(v); }};
      if (spec.bars) {
        o.fill = c;
        o.paths = uPlot.paths.bars({size: [0.7, 60]});
      }
      series.push(o);
      data.push(s.values || []);
    });
    var yaxis = Object.assign({}, axis, {values: function (u, vals) { return vals.map(human); }, size: 50});
    var opts = {
      width: Math.max(box.clientWidth, 300), height: 220, series: series,
      scales: {x: {time: true}}, axes: [axis, yaxis], cursor: {drag: {x: false, y: false}}
    };
    box.textContent = '';
    return new uPlot(opts, data, box);
  }

  function charts() {
    if (typeof uPlot === 'undefined') return;
    var plots = [];
    document.querySelectorAll('[data-chart]').forEach(function (fig) { plots.push([fig, drawChart(fig)]); });
    var timer;
    window.addEventListener('resize', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        plots.forEach(function (p) { p[1].setSize({width: Math.max(p[0].querySelector('.plot').clientWidth, 300), height: 220}); });
      }, 150);
    });
  }

  function filters() {
    var form = document.getElementById('filters');
    if (!form) return;
    form.addEventListener('change', function (ev) {
      var t = ev.target;
      if (t.name === 'range') {
        if (t.value !== 'custom') {
          form.elements.since.value = '';
          form.elements.until.value = '';
        } else {
          return;
        }
      }
      if (t.type === 'search' || t.type === 'text') return; // applied with Enter or Apply
      form.requestSubmit();
    });
    form.addEventListener('submit', function () {
      // Keep the URL short: leave out empty fields.
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value === '') el.disabled = true;
      });
    });
  }

  function tail() {
    var box = document.getElementById('live');
    if (!box) return;
    var status = document.getElementById('tail-status');
    var body = document.querySelector('table.events tbody');
    var src = null;
    function stop() {
      if (src) src.close();
      src = null;
      status.textContent = '';
    }
    function start() {
      src = new EventSource(box.dataset.tail);
      src.onopen = function () { status.textContent = 'following new events'; };
      src.onerror = function () { status.textContent = 'reconnecting…'; };
      src.onmessage = function (m) {
        var tmp = document.createElement('tbody');
        tmp.innerHTML = JSON.parse(m.data);
        var row = tmp.firstElementChild;
        if (!row) return;
        row.classList.add('new');
        var empty = body.querySelector('td[colspan]');
        if (empty) empty.parentNode.remove();
        body.insertBefore(row, body.firstChild);
      };
      src.addEventListener('failure', function (m) { status.textContent = 'stopped: ' + JSON.parse(m.data); stop(); });
    }
    box.addEventListener('change', function () { box.checked ? start() : stop(); });
    if (new URLSearchParams(location.search).get('live') === '1') {
      box.checked = true;
      start();
    }
    window.addEventListener('pagehide', stop);
  }

  function init() {
    charts();
    filters();
    tail();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
