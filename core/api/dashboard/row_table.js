// The body of a dashboard table drawn from rows of text (the tunnels and sessions tables share it). It reads nothing
// from the page at load, so the modules that import it can be imported by tests outside a browser.

/**
 * A table cell with `text`.
 * @param {"th"|"td"} tag
 * @param {string} text
 */
function cell(tag, text) {
  const e = document.createElement(tag);
  if (tag === "th") e.setAttribute("scope", "row");
  e.textContent = text;
  return e;
}

/**
 * Shows `table` when there are rows and the element `emptyId` when there are none, then redraws the body (the first
 * cell a row header, `data-<dataName>` the row's key) unless the rows are those drawn last (`shownKey`).
 * @param {HTMLTableElement} table
 * @param {string} emptyId
 * @param {{key: string, cells: string[]}[]} rows
 * @param {string} dataName
 * @param {string} shownKey the key this returned last time
 * @returns {string} the key of the rows now shown
 */
export function drawRows(table, emptyId, rows, dataName, shownKey) {
  table.hidden = rows.length === 0;
  document.getElementById(emptyId).hidden = rows.length > 0;
  const key = JSON.stringify(rows);
  if (key === shownKey) return key;
  table.tBodies[0].replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset[dataName] = r.key;
      tr.append(cell("th", r.cells[0]), ...r.cells.slice(1).map((c) => cell("td", c)));
      return tr;
    }),
  );
  return key;
}
