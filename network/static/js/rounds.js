/*
 * rounds.js: progressive enhancement of the placement-round pages.
 *
 * - Ranking editors (<form id="ranking-editor" data-focus="…">): every move button works as a
 *   plain form submit; with htmx it swaps only the editor. After the swap, focus goes to the
 *   element the server names in data-focus (the moved item's button), so keyboard users keep
 *   their place, and the live region announces the new rank.
 * - The rank-distribution bar chart: <canvas data-rounds-chart="ID"> with a JSON data island
 *   <script type="application/json" id="ID">{"labels": [...], "values": [...], "label": "…",
 *   "lastIsUnplaced": true}; the last bar (trainees without a place) is then drawn grey.
 *   The table next to it holds the same numbers.
 * - Print buttons: <button data-print> opens the browser's print dialog (save as PDF there).
 */
(function (window, document) {
  "use strict";

  function focusFromEditor(editor) {
    if (!editor || editor.id !== "ranking-editor") {
      return; // another swap (e.g. a job's progress) must not move the focus
    }
    const target = editor.dataset.focus ? document.getElementById(editor.dataset.focus) : null;
    if (target) {
      target.focus();
    }
  }

  function readJson(id) {
    const node = id ? document.getElementById(id) : null;
    if (!node) {
      return null;
    }
    try {
      return JSON.parse(node.textContent);
    } catch (err) {
      return null;
    }
  }

  function drawCharts() {
    if (!window.Chart) {
      return;
    }
    document.querySelectorAll("canvas[data-rounds-chart]").forEach(function (canvas) {
      const data = readJson(canvas.dataset.roundsChart);
      if (!data || !data.labels || !data.labels.length) {
        return;
      }
      const lang = (document.documentElement.getAttribute("lang") || "de").indexOf("en") === 0 ? "en-GB" : "de-DE";
      // Okabe–Ito blue for placed trainees, grey for those without a place.
      const colors = data.labels.map(function (_label, index) {
        return data.lastIsUnplaced && index === data.labels.length - 1 ? "#767676" : "#0072B2";
      });
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [{ label: data.label, data: data.values, backgroundColor: colors, borderColor: "#084a50", borderWidth: 1 }],
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : undefined,
          locale: lang,
          plugins: { legend: { display: false } },
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        },
      });
    });
  }

  function bindPrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    bindPrint();
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    focusFromEditor(event.target);
  });
})(window, document);
