// A table's box that scrolls sideways when the table is wider than the page (a phone, or a
// breakdown's nine columns on a laptop), instead of widening the page. While it is wider:
// - it is a named region in the Tab order (tabindex 0), so a keyboard user can focus it and
//   scroll it with the arrow keys (axe's scrollable-region-focusable; WCAG 2.1.1);
// - a shadow on the side with more to see, and a line under it, tell a sighted user so.
// A table that fits gets none of it: no needless Tab stop, no hint.
import { Component, html } from "../panel/ui.js";

export class Scroller extends Component {
  constructor() {
    super();
    this.state = { wide: false, left: false, right: false };
    this.measure = () => this.update();
  }

  componentDidMount() {
    // The box's width follows the page's; the table's, its rows (a new breakdown, a font).
    this.resize = new ResizeObserver(this.measure);
    this.resize.observe(this.el);
    this.watch();
    this.el.addEventListener("scroll", this.measure, { passive: true });
    this.update();
  }

  componentDidUpdate() {
    this.watch();
    this.update();
  }

  componentWillUnmount() {
    this.resize.disconnect();
    this.el.removeEventListener("scroll", this.measure);
  }

  watch() {
    const inner = this.el.firstElementChild;
    if (inner && inner !== this.inner) {
      if (this.inner) this.resize.unobserve(this.inner);
      this.inner = inner;
      this.resize.observe(inner);
    }
  }

  update() {
    const el = this.el;
    if (!el) return;
    // A pixel of slack: a fraction of one from rounding is no reason to scroll.
    const wide = el.scrollWidth > el.clientWidth + 1;
    const left = wide && el.scrollLeft > 1;
    const right = wide && el.scrollLeft + el.clientWidth < el.scrollWidth - 1;
    const s = this.state;
    if (s.wide !== wide || s.left !== left || s.right !== right) this.setState({ wide, left, right });
  }

  render({ kind, label, children }) {
    const { wide, left, right } = this.state;
    const classes = ["analytics-scroll", left && "more-left", right && "more-right"].filter(Boolean).join(" ");
    return html`
      <div class=${classes}>
        <div class="analytics-scroll-box">
          <div class=${kind ? `analytics-table ${kind}` : "analytics-table"} ref=${(el) => { this.el = el; }}
            tabIndex=${wide ? 0 : undefined} role=${wide ? "region" : undefined}
            aria-label=${wide ? `${label}, scrolls sideways` : undefined}>${children}</div>
        </div>
        ${wide && html`<p class="analytics-scroll-hint" aria-hidden="true">${right ? "Scroll sideways for more →" : "← Scroll back for more"}</p>`}
      </div>`;
  }
}
