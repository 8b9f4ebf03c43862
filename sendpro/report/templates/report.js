(function () {
  "use strict";
  // No data inside: everything is read from the tables the page already shows, so the
  // page is complete without this script. A row is filtered on a dimension only when it
  // carries that data-* attribute; an empty attribute means "not known for this row".
  var DIMS = [
    { key: "severity", attr: "data-severity", label: "Severity", all: "all severities" },
    { key: "type", attr: "data-type", label: "Claim type", all: "all claim types" },
    { key: "rule", attr: "data-rules", label: "Rule", all: "all rules", list: true },
    { key: "provider", attr: "data-provider", label: "Provider", all: "all providers" }
  ];
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var tables = Array.prototype.slice.call(document.querySelectorAll("table.filterable"));
  var bar = document.getElementById("filters");
  if (!bar || !tables.length) { return; }

  var entries = [];
  tables.forEach(function (table) {
    each(table.tBodies, function (body) {
      each(body.rows, function (row) {
        entries.push({ row: row, table: table, text: row.textContent.toLowerCase() });
      });
    });
  });

  var values = {};
  var labels = {};
  DIMS.forEach(function (dim) { values[dim.key] = []; });
  entries.forEach(function (entry) {
    DIMS.forEach(function (dim) {
      var raw = entry.row.getAttribute(dim.attr);
      if (!raw) { return; }
      (dim.list ? raw.split(" ") : [raw]).forEach(function (value) {
        if (value && values[dim.key].indexOf(value) < 0) { values[dim.key].push(value); }
      });
      if (dim.key === "provider" && entry.row.getAttribute("data-provider-label")) {
        labels[raw] = entry.row.getAttribute("data-provider-label");
      }
    });
  });

  var selects = {};
  DIMS.forEach(function (dim) {
    var label = document.createElement("label");
    label.textContent = dim.label + " ";
    var select = document.createElement("select");
    select.id = "filter-" + dim.key;
    [""].concat(values[dim.key].sort()).forEach(function (value, i) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = i === 0 ? dim.all : (dim.key === "provider" && labels[value] ? labels[value] : value);
      select.appendChild(option);
    });
    label.appendChild(select);
    bar.appendChild(label);
    selects[dim.key] = select;
    select.addEventListener("change", apply);
  });
  var clear = document.createElement("button");
  clear.type = "button";
  clear.id = "filter-clear";
  clear.textContent = "Show everything";
  bar.appendChild(clear);
  bar.hidden = false;

  // The issue list also has a text box (code, claim id, field, message).
  var issueTable = document.getElementById("issue-table");
  var box = null;
  if (issueTable) {
    var tools = document.createElement("div");
    tools.className = "tools";
    tools.id = "issue-tools";
    var boxLabel = document.createElement("label");
    boxLabel.textContent = "Filter ";
    box = document.createElement("input");
    box.type = "search";
    box.id = "issue-filter";
    box.placeholder = "code, claim id, field, message";
    boxLabel.appendChild(box);
    tools.appendChild(boxLabel);
    var holder = issueTable.parentNode;
    holder.parentNode.insertBefore(tools, holder);
    box.addEventListener("input", apply);
  }

  var statuses = tables.map(function (table) {
    var status = document.createElement("p");
    status.className = "note";
    status.id = table.id.replace(/-table$/, "") + "-filter-status";
    status.setAttribute("aria-live", "polite");
    var holder = table.parentNode;
    holder.parentNode.insertBefore(status, holder);
    return status;
  });

  var detail = document.getElementById("provider-detail");

  function matches(entry) {
    for (var i = 0; i < DIMS.length; i += 1) {
      var dim = DIMS[i];
      var wanted = selects[dim.key].value;
      var raw = entry.row.getAttribute(dim.attr);
      if (!wanted || raw === null) { continue; }
      if (dim.list ? raw.split(" ").indexOf(wanted) < 0 : raw !== wanted) { return false; }
    }
    if (box && entry.table === issueTable) {
      var query = box.value.trim().toLowerCase();
      if (query && entry.text.indexOf(query) < 0) { return false; }
    }
    return true;
  }

  function showProvider(key) {
    if (!detail) { return; }
    while (detail.firstChild) { detail.removeChild(detail.firstChild); }
    var source = key ? document.querySelector('#provider-risk-table tr[data-provider="' + CSS.escape(key) + '"]') : null;
    detail.hidden = !key;
    if (!key) { return; }
    var heading = document.createElement("h3");
    heading.textContent = "Provider " + (labels[key] || key);
    detail.appendChild(heading);
    var text = document.createElement("p");
    if (source) {
      var cells = source.cells;
      text.textContent = cells[2].textContent + " rejected claim(s), charge $" + cells[3].textContent +
        ", paid $" + cells[4].textContent + "; rules: " + cells[5].textContent + ". The fix list, the issue " +
        "list and the tables below show this provider only.";
    } else {
      // Past the providers table's cap, or a provider of the issue list only.
      text.textContent = "This provider is not in the dollars-at-risk table; the tables show its rows only.";
    }
    detail.appendChild(text);
  }

  function apply() {
    var shown = tables.map(function () { return 0; });
    var total = tables.map(function () { return 0; });
    entries.forEach(function (entry) {
      var n = tables.indexOf(entry.table);
      var hit = matches(entry);
      entry.row.hidden = !hit;
      total[n] += 1;
      if (hit) { shown[n] += 1; }
    });
    tables.forEach(function (table, n) {
      var noun = table.getAttribute("data-noun") || "rows";
      statuses[n].textContent = shown[n] + " of " + total[n] + " " + noun + " shown";
    });
    showProvider(selects.provider.value);
  }

  clear.addEventListener("click", function () {
    DIMS.forEach(function (dim) { selects[dim.key].value = ""; });
    if (box) { box.value = ""; }
    apply();
  });
  // A rule code links to its first issue row; following it narrows the page to that rule.
  each(document.querySelectorAll("a[data-rule]"), function (link) {
    link.addEventListener("click", function () {
      var code = link.getAttribute("data-rule");
      if (values.rule.indexOf(code) >= 0) { selects.rule.value = code; apply(); }
    });
  });
  // A provider link opens its drill-down.
  each(document.querySelectorAll("a[data-pick-provider]"), function (link) {
    link.addEventListener("click", function () {
      var key = link.getAttribute("data-pick-provider");
      if (values.provider.indexOf(key) >= 0) { selects.provider.value = key; apply(); }
    });
  });

  // Sortable columns (tables with class "sortable").
  each(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    var body = table.tBodies[0];
    var headers = table.tHead.rows[0].cells;
    var sortColumn = -1;
    var direction = 1;
    function sortBy(column, numeric) {
      direction = column === sortColumn ? -direction : 1;
      sortColumn = column;
      var keyed = Array.prototype.map.call(body.rows, function (row, i) {
        var text = row.cells[column] ? row.cells[column].textContent : "";
        var key = text.toLowerCase();
        if (numeric) {
          key = text === "" ? Infinity : Number(text.replace(/,/g, ""));
          if (isNaN(key)) { key = Infinity; }
        }
        return { row: row, index: i, key: key };
      });
      keyed.sort(function (a, b) {
        if (a.key < b.key) { return -direction; }
        if (a.key > b.key) { return direction; }
        return a.index - b.index;
      });
      var fragment = document.createDocumentFragment();
      keyed.forEach(function (item) { fragment.appendChild(item.row); });
      body.appendChild(fragment);
    }
    each(headers, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.title = "Sort by this column";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        sortBy(column, th.classList.contains("num"));
        each(headers, function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", direction > 0 ? "ascending" : "descending");
      });
    });
  });
  apply();
}());
