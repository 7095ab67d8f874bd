// The anomaly review queue (/review): j/k move, x select, c confirm, d dismiss.
// c and d act on every selected row, or on the current one when none is selected.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) return;
  var current = 0;

  function rows() {
    return Array.prototype.slice.call(form.querySelectorAll(".review-row"));
  }

  function mark(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) {
      row.classList.toggle("current", i === current);
    });
    all[current].scrollIntoView({ block: "nearest" });
  }

  function selected() {
    return form.querySelectorAll(".review-row input[name=ids]:checked");
  }

  function decide(outcome) {
    var all = rows();
    if (!all.length) return;
    var picked = selected();
    if (!picked.length) {
      all[current].querySelector("input[name=ids]").checked = true;
    } else {
      // after the swap, stay where the first of the decided rows was
      current = all.indexOf(picked[0].closest(".review-row"));
    }
    document.getElementById("review-outcome").value = outcome;
    form.requestSubmit();
  }

  form.querySelectorAll("button[data-outcome]").forEach(function (button) {
    button.addEventListener("click", function () {
      document.getElementById("review-outcome").value = button.dataset.outcome;
    });
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target instanceof HTMLElement && (
      target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type !== "checkbox"));
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "j") mark(current + 1);
    else if (key === "k") mark(current - 1);
    else if (key === "x") {
      var row = rows()[current];
      if (row) {
        var box = row.querySelector("input[name=ids]");
        box.checked = !box.checked;
      }
    } else if (key === "c") decide("confirmed");
    else if (key === "d") decide("dismissed");
    else return;
    event.preventDefault();
  });

  form.addEventListener("click", function (event) {
    var row = event.target instanceof Element && event.target.closest(".review-row");
    if (row) mark(rows().indexOf(row));
  });

  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      form.querySelectorAll(".review-row input[name=ids]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  document.body.addEventListener("htmx:afterSwap", function () {
    if (all) all.checked = false;
    mark(current);
  });

  mark(0);
})();
