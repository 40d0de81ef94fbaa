// Draws the dashboard's charts from data the page carries in json_script tags.
// A canvas names its kind (data-chart) and the id of its data (data-chart-data);
// charts are drawn on load and whenever htmx swaps new content in.
(function () {
  "use strict";

  var COLORS = {
    uncached_input: "#4c78a8",
    cached: "#9ecae9",
    output: "#f58518",
    reasoning: "#e45756",
    cost: "#54a24b",
  };
  var LABELS = {
    uncached_input: "Input (not cached)",
    cached: "Cached input",
    output: "Output",
    reasoning: "Reasoning",
  };
  var TOKEN_SERIES = ["uncached_input", "cached", "output", "reasoning"];

  var number = new Intl.NumberFormat("en-US");
  var money = new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: "USD",
    maximumSignificantDigits: 4,
  });

  function tokenDatasets(data) {
    return TOKEN_SERIES.map(function (key) {
      return {
        type: "bar",
        label: LABELS[key],
        data: data[key],
        backgroundColor: COLORS[key],
        stack: "tokens",
        yAxisID: "y",
      };
    });
  }

  function tokenAxis() {
    return {
      stacked: true,
      beginAtZero: true,
      title: { display: true, text: "tokens" },
      ticks: { callback: function (v) { return number.format(v); } },
    };
  }

  function dailyChart(canvas, data) {
    var datasets = tokenDatasets(data);
    datasets.push({
      type: "line",
      label: "Cost (known)",
      data: data.cost,
      borderColor: COLORS.cost,
      backgroundColor: COLORS.cost,
      yAxisID: "cost",
      spanGaps: false,
      tension: 0,
      pointRadius: 0,
      pointHoverRadius: 4,
    });
    return new Chart(canvas, {
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true },
          y: tokenAxis(),
          cost: {
            position: "right",
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            title: { display: true, text: "USD" },
            ticks: { callback: function (v) { return money.format(v); } },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (ctx) {
                if (ctx.dataset.yAxisID === "cost") {
                  return ctx.raw === null ? "Cost: unknown model" : "Cost: " + money.format(ctx.raw);
                }
                return ctx.dataset.label + ": " + number.format(ctx.raw);
              },
            },
          },
        },
      },
    });
  }

  function turnsChart(canvas, data) {
    return new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: tokenDatasets(data) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: { x: { stacked: true }, y: tokenAxis() },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return ctx.dataset.label + ": " + number.format(ctx.raw);
              },
              footer: function (items) {
                var i = items[0].dataIndex;
                var total = TOKEN_SERIES.reduce(function (sum, key) { return sum + data[key][i]; }, 0);
                var cost = data.cost[i] === null
                  ? (data.model[i] ? "no price for " + data.model[i] : "unknown model")
                  : money.format(data.cost[i]);
                return "Total: " + number.format(total) + " tokens\nCost: " + cost +
                  (data.model[i] ? "\nModel: " + data.model[i] : "");
              },
            },
          },
        },
      },
    });
  }

  var KINDS = { daily: dailyChart, turns: turnsChart };

  function draw(root) {
    if (typeof Chart === "undefined" || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chartData);
      var kind = KINDS[canvas.dataset.chart];
      if (!source || !kind || Chart.getChart(canvas)) return;
      kind(canvas, JSON.parse(source.textContent));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:load", function (event) { draw(event.target); });
})();
