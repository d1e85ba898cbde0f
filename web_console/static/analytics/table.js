// A report's table under its chart: the columns asked for, each cell written by its unit, a
// caption, a CSV download of the whole table, and optionally a button per row that opens the
// conversations behind it (the keyboard's way to what a click on a bar does).
import { html } from "../panel/ui.js";
import { cell, columnName } from "./format.js";

export function ReportTable({ caption, report, columns, csv, onRow, rowLabel, rowAction }) {
  if (!report || report.state === "loading" && !report.table) {
    return html`<p class="analytics-note" role="status">Loading ${caption.toLowerCase()}…</p>`;
  }
  if (report.state === "error") {
    return html`<p class="analytics-error" role="alert">${caption}: ${report.error}</p>`;
  }
  const table = report.table;
  if (!table) return null;
  const index = (name) => table.columns.indexOf(name);
  const shown = (columns || table.columns).filter((c) => index(c) >= 0);
  return html`
    <div class="analytics-table">
      <table>
        <caption>
          ${caption}
          ${csv && html` <a class="csv" href=${csv} download>Download CSV<span class="visually-hidden"> of ${caption}</span></a>`}
        </caption>
        <thead><tr>
          ${shown.map((c) => html`<th scope="col">${columnName(c)}</th>`)}
          ${onRow && html`<th scope="col"><span class="visually-hidden">Conversations</span></th>`}
        </tr></thead>
        <tbody>
          ${table.rows.length === 0 && html`<tr><td colspan=${shown.length + (onRow ? 1 : 0)}>Nothing in this range.</td></tr>`}
          ${table.rows.map((row, i) => html`
            <tr key=${i}>
              ${shown.map((c, j) => j === 0
                ? html`<th scope="row">${rowLabel ? rowLabel(row) : cell(row[index(c)], table.units[index(c)])}</th>`
                : html`<td>${cell(row[index(c)], table.units[index(c)])}</td>`)}
              ${onRow && html`<td><button type="button" class="link" onClick=${() => onRow(row, i)}>
                ${rowAction || "Conversations"}<span class="visually-hidden"> of ${rowLabel ? rowLabel(row) : String(row[0])}</span>
              </button></td>`}
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}
