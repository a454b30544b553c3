// Time-series charts for the desktop, drawn by uPlot (vendored in /assets/vendor/, pinned by
// tests/browser/package-lock.json). Pages use this module, never uPlot directly, so a later
// report or a change of library touches one file.
//
//   const c = timeChart(box, {
//     label: "Arrivals and answered per minute",
//     series: [{ name: "Arrivals", color: "#2f5bd3", kind: "bars" },
//              { name: "Answered", color: "#1c7c3a", kind: "line" }],
//     step: 60_000,            // one point per minute: bars are one step wide
//   });
//   c.update(times, [arrivals, answered]);   // times in unix ms, one array per series
//   c.labels();   // { x: ["10:40", …], y: ["0", "2", …] }: the axis labels last drawn
//   c.destroy();
//
// The chart is also `box.chart`, so a test (or the console) can reach it from the page.
//
// The chart fills `box` (give it a height in CSS) and follows its size, so it is never
// stretched. Times are shown in the browser's time zone. The canvas is not readable by
// screen readers: `box` becomes an image whose name is `summary(times, values)` (by
// default the totals per series), and the point under the pointer is written out below it.

import uPlot from "/assets/vendor/uPlot.esm.js";

const INK = "#5d6677";
const GRID = "#e6e9ef";
const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** Hours and minutes in the browser's locale: `10:40` or `10:40 AM`. */
export function hhmm(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
}

/**
 * A chart of values over time in `box`.
 * `opts`: `label` (what it shows, for screen readers), `series` (`name`, `color`, `kind`
 * `"bars"` or `"line"`), `step` (ms between points, for bar widths; 60 000 by default),
 * `points: true` on a line series marks each value (for sparse data),
 * `summary(times, values)` (the text a screen reader hears; totals by default),
 * `time(ms)` (how a time is written on the axis and below; hours and minutes by default),
 * `yMax` (a fixed top of the value axis, e.g. 100 for percentages), `unit` (written after
 * each value, e.g. " %").
 */
export function timeChart(box, opts) {
  const step = opts.step ?? 60_000;
  const time = opts.time || hhmm;
  const unit = opts.unit || "";
  const plotBox = document.createElement("div");
  plotBox.className = "chart-plot";
  const readout = document.createElement("p");
  readout.className = "chart-readout small muted";
  readout.setAttribute("aria-live", "off");
  box.replaceChildren(plotBox, readout);
  box.classList.add("chart");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", opts.label);
  plotBox.setAttribute("role", "img");

  let data = [[], ...opts.series.map(() => [])];
  const drawn = { x: [], y: [] };
  const summary = opts.summary || ((times, values) =>
    `${opts.label}: ${opts.series.map((s, i) => `${values[i].reduce((a, b) => a + (b || 0), 0)} ${s.name.toLowerCase()}`).join(", ")}.`);

  const size = () => ({
    width: Math.max(200, Math.floor(plotBox.clientWidth)),
    height: Math.max(120, Math.floor(plotBox.clientHeight)),
  });

  const axis = {
    stroke: INK,
    font: FONT,
    grid: { stroke: GRID, width: 1 },
    ticks: { stroke: GRID, width: 1, size: 4 },
  };
  const plot = new uPlot({
    ...size(),
    ms: 1, // times are unix milliseconds, as the API gives them
    legend: { show: false },
    // Room on the right for the last time label, which is centred on the axis' end.
    padding: [8, 28, 0, 0],
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    scales: {
      // Each bar covers its step, so the last one needs room after its start.
      x: { time: true, range: (u, min, max) => (min == null ? [Date.now() - step, Date.now()] : [min, max + step]) },
      // Counts: from zero, at least 0..1 so a quiet hour still has a scale.
      y: { range: (u, min, max) => [0, opts.yMax ?? Math.max(1, Math.ceil(max * 1.1))] },
    },
    axes: [
      {
        ...axis,
        size: 28,
        space: 70,
        values: (u, splits) => (drawn.x = splits.map((v) => time(v))),
      },
      {
        ...axis,
        size: unit ? 56 : 40,
        space: 24,
        // Whole numbers only: half an interaction means nothing.
        incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
        values: (u, splits) => (drawn.y = splits.map((v) => `${v}${unit}`)),
      },
    ],
    series: [
      { value: (u, v) => (v == null ? "" : time(v)) },
      ...opts.series.map((s) => s.kind === "bars"
        ? {
          label: s.name,
          stroke: s.color,
          fill: `${s.color}b0`,
          width: 0,
          paths: uPlot.paths.bars({ size: [0.8, 40], align: 1 }),
          points: { show: false },
        }
        // A line of one point draws nothing: its points show where the data is sparse.
        : { label: s.name, stroke: s.color, width: 2, points: { show: Boolean(s.points), size: 6, fill: s.color } }),
    ],
    hooks: {
      setCursor: [(u) => {
        const i = u.cursor.idx;
        if (i == null || data[0][i] == null) {
          readout.textContent = "";
          return;
        }
        const from = data[0][i];
        readout.textContent = `${time(from)}–${time(data[0][i + 1] ?? from + step)}: ${opts.series.map((s, k) => `${data[k + 1][i] ?? 0}${unit} ${s.name.toLowerCase()}`).join(", ")}`;
      }],
    },
  }, data, plotBox);

  // Follow the box's size: a narrower window redraws, it never stretches the picture.
  const observer = new ResizeObserver(() => {
    const next = size();
    if (next.width !== plot.width || next.height !== plot.height) plot.setSize(next);
  });
  observer.observe(plotBox);

  const chart = {
    /** Replaces the data: `times` (unix ms) and one array of values per series. */
    update(times, values) {
      data = [times, ...values];
      plot.setData(data);
      plotBox.setAttribute("aria-label", summary(times, values));
    },
    /** The uPlot instance, for tests and later reports that need more. */
    plot,
    /** The labels of the time axis and the value axis as last drawn. */
    labels() {
      return { x: [...drawn.x], y: [...drawn.y] };
    },
    /** Stops following the box and frees the chart. */
    destroy() {
      observer.disconnect();
      plot.destroy();
      delete box.chart;
    },
  };
  box.chart = chart;
  return chart;
}

/**
 * Bars over named categories (a distribution) in `box`: `opts.label`, `opts.name` (what
 * is counted), `opts.color`. `update(categories, counts)` draws it; the point under the
 * pointer is written out below, and the picture's name lists every category's count.
 */
export function barChart(box, opts) {
  const plotBox = document.createElement("div");
  plotBox.className = "chart-plot";
  const readout = document.createElement("p");
  readout.className = "chart-readout small muted";
  readout.setAttribute("aria-live", "off");
  box.replaceChildren(plotBox, readout);
  box.classList.add("chart");
  box.setAttribute("role", "group");
  box.setAttribute("aria-label", opts.label);
  plotBox.setAttribute("role", "img");
  let categories = [];
  let data = [[], []];
  const size = () => ({
    width: Math.max(200, Math.floor(plotBox.clientWidth)),
    height: Math.max(120, Math.floor(plotBox.clientHeight)),
  });
  const axis = { stroke: INK, font: FONT, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1, size: 4 } };
  const plot = new uPlot({
    ...size(),
    legend: { show: false },
    padding: [8, 12, 0, 0],
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: {
      x: { time: false, range: (u) => [-0.5, Math.max(0, categories.length - 0.5)] },
      y: { range: (u, min, max) => [0, Math.max(1, Math.ceil(max * 1.1))] },
    },
    axes: [
      { ...axis, size: 28, space: 10, splits: () => categories.map((_, i) => i), values: (u, splits) => splits.map((i) => categories[i] ?? "") },
      { ...axis, size: 40, space: 24, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000] },
    ],
    series: [
      {},
      { label: opts.name, stroke: opts.color, fill: `${opts.color}b0`, width: 0,
        paths: uPlot.paths.bars({ size: [0.7, 80], align: 0 }), points: { show: false } },
    ],
    hooks: {
      setCursor: [(u) => {
        const i = u.cursor.idx;
        readout.textContent = i == null || categories[i] == null ? "" : `${categories[i]}: ${data[1][i]} ${opts.name.toLowerCase()}`;
      }],
    },
  }, data, plotBox);
  const observer = new ResizeObserver(() => {
    const next = size();
    if (next.width !== plot.width || next.height !== plot.height) plot.setSize(next);
  });
  observer.observe(plotBox);
  const chart = {
    update(names, counts) {
      categories = names;
      data = [names.map((_, i) => i), counts];
      plot.setData(data);
      plotBox.setAttribute("aria-label", `${opts.label}: ${names.map((n, i) => `${n}: ${counts[i]}`).join(", ")}.`);
    },
    plot,
    destroy() {
      observer.disconnect();
      plot.destroy();
      delete box.chart;
    },
  };
  box.chart = chart;
  return chart;
}
