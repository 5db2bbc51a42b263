// trainlab report: the confusion-matrix tooltip (true, predicted, count, row share). Inline, no network.
(function () {
  var tip = document.createElement("div");
  tip.className = "cm-tip";
  tip.setAttribute("role", "tooltip");
  tip.hidden = true;
  document.body.appendChild(tip);
  function show(td) {
    var table = td.closest("table"), head = table.tHead.rows[0].cells, row = td.parentNode;
    var share = parseFloat(td.dataset.s || "0");
    tip.textContent = "true: " + row.cells[0].title + "\npredicted: " + head[td.cellIndex].title +
      "\ncount: " + (td.dataset.c || "0") + " of " + row.cells[0].dataset.total +
      "\nrow share: " + (100 * share).toFixed(1) + " %";
    tip.hidden = false;
    var box = td.getBoundingClientRect(), w = tip.offsetWidth, h = tip.offsetHeight;
    var x = box.right + 8 + w > window.innerWidth ? box.left - 8 - w : box.right + 8;
    var y = box.bottom + 8 + h > window.innerHeight ? box.top - 8 - h : box.bottom + 8;
    tip.style.left = (window.scrollX + Math.max(0, x)) + "px";
    tip.style.top = (window.scrollY + Math.max(0, y)) + "px";
  }
  document.querySelectorAll("table.cm").forEach(function (table) {
    table.addEventListener("mouseover", function (e) {
      var td = e.target.closest("td");
      if (td && table.contains(td)) { show(td); } else { tip.hidden = true; }
    });
    table.addEventListener("mouseleave", function () { tip.hidden = true; });
  });
})();
