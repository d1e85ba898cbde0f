// A uPlot chart as a Preact component: bars or lines over buckets (or any x), sized to its
// container, redrawn when its data change. A click on a bar calls onPick(index): the
// conversations behind it. The canvas is hidden from screen readers; the table under each
// chart carries the same figures, and its rows' buttons do what a click on a bar does.
import uPlot from "../vendor/uplot/uplot.js";
import { Component, html } from "../panel/ui.js";

const COLOURS = ["#2f6fdf", "#d9822b", "#1f9d6b", "#a23fbf", "#c23b3b"];

export class Chart extends Component {
  componentDidMount() {
    this.draw();
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: this.props.height || 220 });
    });
    this.resize.observe(this.el);
  }

  componentDidUpdate(previous) {
    if (previous.data !== this.props.data || previous.series !== this.props.series) this.draw();
  }

  componentWillUnmount() {
    if (this.resize) this.resize.disconnect();
    if (this.plot) this.plot.destroy();
  }

  width() {
    return Math.max(200, this.el.clientWidth || 600);
  }

  draw() {
    if (this.plot) { this.plot.destroy(); this.plot = null; }
    const { data, series, bars, format, axisFormat, counts, xLabels, onPick } = this.props;
    const tick = axisFormat || format;
    if (!data || !data[0] || !data[0].length) return;
    const drawn = series.map((s, i) => ({
      label: s.label,
      stroke: COLOURS[i % COLOURS.length],
      fill: bars ? COLOURS[i % COLOURS.length] + "cc" : undefined,
      width: bars ? 0 : 2,
      points: { show: !bars },
      paths: bars ? uPlot.paths.bars({ size: [0.6, 80], gap: 2 }) : undefined,
      value: (_u, v) => (v === null || v === undefined ? "—" : format ? format(v) : v),
      scale: s.scale || "y",
    }));
    // The x values are the buckets' indexes (or the ratings 1-5): evenly spaced bars with
    // their own labels, each bar whole (half a bucket of room at each end).
    const axes = [
      {
        values: (_u, ticks) => ticks.map((t) => (xLabels ? xLabels[t] ?? "" : t)),
        size: 40,
      },
      {
        values: (_u, ticks) => ticks.map((t) => (tick ? tick(t) : t)),
        size: 64,
        // Counts step by whole numbers: no "0.25 breaches".
        incrs: counts ? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 50000] : undefined,
      },
    ];
    const options = {
      width: this.width(),
      height: this.props.height || 220,
      series: [{ label: this.props.xName || "x", value: (_u, v) => (xLabels ? xLabels[v] ?? "" : v) }, ...drawn],
      scales: {
        x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
    };
    this.plot = new uPlot(options, data, this.el);
    if (onPick) {
      this.plot.over.addEventListener("click", () => {
        const index = this.plot.cursor.idx;
        if (index !== null && index !== undefined) onPick(index);
      });
      this.plot.over.classList.add("pickable");
    }
  }

  render() {
    // Preact 11 keeps no this.base: the element comes from a ref.
    return html`<div class="analytics-chart" aria-hidden="true" ref=${(el) => { this.el = el; }}></div>`;
  }
}
