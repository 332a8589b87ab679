// Draws every chart of a console page with uPlot (vendored, see dataplatform/console/static/vendor/).
// A chart is <figure data-chart="line|bars"> holding <script type="application/json"> with
// {labels: [...], series: [{name, values: [...]}], dates: bool}; its numbers are also in the table beside it.
// Bar charts take one or two series (drawn side by side).
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed"];

  function draw(figure) {
    var spec = JSON.parse(figure.querySelector("script[type='application/json']").textContent);
    var kind = figure.getAttribute("data-chart");
    var xs = spec.dates
      ? spec.labels.map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; })
      : spec.labels.map(function (_, i) { return i; });
    var series = [{}];
    spec.series.forEach(function (s, i) {
      var one = { label: s.name, stroke: COLORS[i % COLORS.length], width: 2 };
      if (kind === "bars") {
        // Side by side: each of n series gets 1/n of the slot, aligned left, centred or right.
        var n = spec.series.length;
        one.fill = COLORS[i % COLORS.length] + "cc";
        one.paths = uPlot.paths.bars({ size: [0.7 / n, 60], align: n === 1 ? 0 : i === 0 ? -1 : 1 });
        one.points = { show: false };
      }
      series.push(one);
    });
    var axes = [{}, { size: 70 }];
    if (!spec.dates) {
      axes[0] = {
        values: function (u, ticks) { return ticks.map(function (t) { return spec.labels[t] === undefined ? "" : spec.labels[t]; }); },
        splits: function () { return xs; },
      };
    }
    var options = {
      width: Math.max(figure.clientWidth - 8, 200),
      height: Number(figure.getAttribute("data-height") || 240),
      series: series,
      axes: axes,
      scales: {
        x: spec.dates ? { time: true } : { time: false, range: [-0.5, xs.length - 0.5] },
        y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } },  // counts and money from 0
      },
      legend: { show: spec.series.length > 1, live: false },
    };
    var data = [xs].concat(spec.series.map(function (s) { return s.values; }));
    new uPlot(options, data, figure.querySelector(".chart"));
    figure.setAttribute("data-drawn", "true");
  }

  document.querySelectorAll("figure[data-chart]").forEach(draw);
})();
