// A report's table under its chart: the columns asked for, each cell written by its unit, a
// caption, a CSV download of the whole table, and optionally a button per row that opens the
// conversations behind it (the keyboard's way to what a click on a bar does).
import { html } from "../panel/ui.js";
import { cell, columnName } from "./format.js";
import { Scroller } from "./scroller.js";

// ``headers`` renames columns for this table ({label: "Band"}); ``onRow`` makes each row's
// first cell a button that opens the conversations behind the row (``action`` says what the
// button does, for a screen reader); ``kind`` is a class for the table's own layout.
export function ReportTable({ caption, report, columns, csv, onRow, rowLabel, headers, action, kind, empty }) {
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
    <${Scroller} kind=${kind} label=${caption}>
      <table>
        <caption>
          ${caption}
          ${csv && html` <a class="csv" href=${csv} download>Download CSV<span class="visually-hidden"> of ${caption}</span></a>`}
        </caption>
        <thead><tr>
          ${shown.map((c) => html`<th scope="col">${(headers && headers[c]) || columnName(c)}</th>`)}
        </tr></thead>
        <tbody>
          ${table.rows.length === 0 && html`<tr><td colspan=${shown.length}>${empty || "Nothing in this range."}</td></tr>`}
          ${table.rows.map((row, i) => {
            const label = rowLabel ? rowLabel(row) : cell(row[index(shown[0])], table.units[index(shown[0])]);
            return html`
            <tr key=${i}>
              <th scope="row">${onRow
                ? html`<button type="button" class="link" title=${action || "Show the conversations"} onClick=${() => onRow(row, i)}>${label}<span class="visually-hidden">: ${(action || "Show the conversations").toLowerCase()}</span></button>`
                : label}</th>
              ${shown.slice(1).map((c) => html`<td>${cell(row[index(c)], table.units[index(c)])}</td>`)}
            </tr>`;
          })}
        </tbody>
      </table>
    <//>`;
}
