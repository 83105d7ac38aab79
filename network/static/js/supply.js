/*
 * supply.js: the supply page's choropleth (figure chosen in a <select>) and the
 * chart of the degree of supply over time.
 *
 * Data come from JSON data islands (no inline script, strict CSP):
 *   <figure data-supply-map data-figures="supply-map-data" data-source-id="…">
 *   <script type="application/json" id="supply-map-data">
 *     {"selected": "gp_degree", "figures": {"gp_degree": {"label", "unit",
 *      "decimals", "values": {ags: value}, "source", "breaks"?, "palette"?}}}
 *   <canvas data-supply-chart data-chart="supply-chart-data">
 * Without JavaScript the <select> is a GET form that reloads the page, and the
 * tables below the map and chart hold the same numbers.
 */
(function (window, document) {
  "use strict";

  // Okabe–Ito: distinguishable with the common colour-vision deficiencies.
  const LINE_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
  const POINT_STYLES = ["circle", "rect", "triangle", "rectRot", "cross", "star", "crossRot"];

  function language() {
    const lang = (document.documentElement.getAttribute("lang") || "de").toLowerCase();
    return lang.indexOf("en") === 0 ? "en" : "de";
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

  function formatter(unit, decimals) {
    const fmt = new Intl.NumberFormat(language() === "en" ? "en-GB" : "de-DE", {
      maximumFractionDigits: Number.isInteger(decimals) ? decimals : 1,
    });
    const suffix = unit ? "\u00a0" + unit : "";
    return function (value) {
      return fmt.format(value) + suffix;
    };
  }

  // Fixed class limits (the planning thresholds) but only those inside the
  // data's range, so the legend never shows an empty class such as "120 – 75".
  function fixedClasses(entry) {
    const values = Object.keys(entry.values)
      .map(function (key) {
        return Number(entry.values[key]);
      })
      .filter(Number.isFinite);
    if (!values.length) {
      return { breaks: [], palette: entry.palette.slice(0, 1) };
    }
    const min = Math.min.apply(null, values);
    const max = Math.max.apply(null, values);
    const below = entry.breaks.filter(function (b) {
      return b < min;
    }).length;
    const inside = entry.breaks.filter(function (b) {
      return b >= min && b < max;
    });
    return { breaks: inside, palette: entry.palette.slice(below, below + inside.length + 1) };
  }

  function initMap() {
    const element = document.querySelector("[data-supply-map]");
    if (!element || !window.NetworkMap) {
      return;
    }
    const data = readJson(element.dataset.figures);
    if (!data || !data.figures) {
      return;
    }
    const map = window.NetworkMap.create(element, {
      boundariesUrl: element.dataset.boundariesUrl,
      imagePath: element.dataset.imagePath,
      tileUrl: element.dataset.tileUrl,
      tileAttribution: element.dataset.tileAttribution,
    });
    if (!map) {
      return;
    }
    const select = document.querySelector("[data-supply-figure-select]");
    const submit = document.querySelector("[data-supply-figure-submit]");
    const sourceLine = document.getElementById(element.dataset.sourceId || "");
    const sourcePrefix = sourceLine ? sourceLine.textContent.split(":")[0] : "";
    let boundaries = null;

    function draw(code) {
      const entry = data.figures[code];
      if (!entry || !boundaries) {
        return;
      }
      const options = {
        legendTitle: entry.label,
        source: entry.legendSource || entry.source,
        formatter: formatter(entry.unit, entry.decimals),
        noDataLabel: data.noData,
      };
      if (Array.isArray(entry.breaks) && Array.isArray(entry.palette)) {
        const classes = fixedClasses(entry);
        options.breaks = classes.breaks;
        options.palette = classes.palette;
      }
      window.NetworkMap.choropleth(map, boundaries, entry.values, options);
      element.setAttribute("data-figure", code);
      if (sourceLine) {
        sourceLine.textContent = sourcePrefix + ": " + entry.source;
      }
    }

    map.boundariesReady.then(function (geojson) {
      boundaries = geojson;
      draw(select ? select.value : data.selected);
    });

    if (select) {
      // The map follows the select at once; the button is only for pages without JS.
      if (submit) {
        submit.hidden = true;
      }
      select.addEventListener("change", function () {
        draw(select.value);
        if (window.history && window.history.replaceState) {
          const url = new URL(window.location.href);
          url.searchParams.set("kennzahl", select.value);
          window.history.replaceState(null, "", url.toString());
        }
      });
    }
  }

  function initChart() {
    const canvas = document.querySelector("[data-supply-chart]");
    if (!canvas || typeof window.Chart !== "function") {
      return;
    }
    const data = readJson(canvas.dataset.chart);
    if (!data || !Array.isArray(data.datasets) || !data.datasets.length) {
      return;
    }
    const datasets = data.datasets.map(function (series, i) {
      const color = LINE_COLORS[i % LINE_COLORS.length];
      return {
        label: series.label,
        data: series.data,
        borderColor: color,
        backgroundColor: color,
        pointStyle: POINT_STYLES[i % POINT_STYLES.length],
        pointRadius: 5,
        spanGaps: true,
        tension: 0,
      };
    });
    const t = data.thresholds || {};
    [
      [t.under, t.underLabel, "#b35806"],
      [t.over, t.overLabel, "#542788"],
    ].forEach(function (line) {
      if (Number.isFinite(line[0])) {
        datasets.push({
          label: line[1],
          data: data.labels.map(function () {
            return line[0];
          }),
          borderColor: line[2],
          borderDash: [6, 4],
          borderWidth: 1.5,
          pointRadius: 0,
          fill: false,
        });
      }
    });
    const fmt = formatter("%", 1);
    new window.Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          y: {
            title: { display: true, text: data.yLabel },
            suggestedMin: 50,
            suggestedMax: 130,
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + fmt(context.parsed.y);
              },
            },
          },
        },
      },
    });
  }

  function init() {
    initMap();
    initChart();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})(window, document);
