/*
 * network_view.js: the coordinators' network view (Cytoscape.js) and the key-figure charts
 * (Chart.js) of /netzwerk.
 *
 * Markup (no inline script; data come from data attributes and JSON islands):
 *   <div data-network-view data-graph-url="/netzwerk/graph.json?…" data-texts="island-id">
 *   <select id="nv-view|nv-size|nv-layout">     view, node size metric, layout
 *   <ul id="network-view-list">                 the drawn nodes as links (keyboard, screen readers)
 *   <ul id="network-view-legend"><li><span data-color>  legend swatches
 *   <canvas data-network-chart="island-id" [data-horizontal]>
 *
 * The graph endpoint decides what is drawn: organisations up to a limit, otherwise
 * municipalities or communities aggregated (see network/network_view/dashboard.py). Clicking
 * (tapping) a node opens its page. window.networkView exposes { cy, ready, load(view) } for
 * tests and the browser console.
 */
(function (window, document) {
  "use strict";

  const PLACE_COLOR = "#0B5F66";
  const COMMUNITY_COLOR = "#A8501A";
  const EDGE_COLOR = "#8A979A";
  const CHART_COLORS = ["#0B5F66", "#D55E00", "#0072B2", "#CC79A7"];

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

  function language() {
    const lang = (document.documentElement.getAttribute("lang") || "de").toLowerCase();
    return lang.indexOf("en") === 0 ? "en-GB" : "de-DE";
  }

  function format(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  // ------------------------------------------------------------------ graph

  function metricOf(data, view, metric) {
    if (view !== "organisations") {
      return Number(data.size) || 0;
    }
    return Number(data[metric]) || 0;
  }

  function nodeLabel(data, view, texts, number) {
    if (view === "communities") {
      return format(texts.community, {
        n: Number(data.community) + 1,
        size: number.format(data.size || 0),
        place: data.top_place || "–",
      });
    }
    if (view === "municipalities") {
      return format(texts.municipality, { name: data.label, size: number.format(data.size || 0) });
    }
    const text = format(texts.organisation, {
      name: data.label,
      kind: (texts.kinds || {})[data.kind] || data.kind || "",
      partners: number.format(data.partners || 0),
    });
    return data.outside ? text + " – " + texts.outside : text;
  }

  function decorate(payload, texts, metric) {
    const styles = texts.styles || {};
    const number = new Intl.NumberFormat(language());
    const view = payload.view;
    const nodes = payload.elements.nodes;
    const values = nodes.map(function (node) {
      return metricOf(node.data, view, metric);
    });
    const min = values.length ? Math.min.apply(null, values) : 0;
    const max = values.length ? Math.max.apply(null, values) : 0;
    nodes.forEach(function (node, i) {
      const data = node.data;
      let color = PLACE_COLOR;
      let shape = "round-rectangle";
      if (view === "organisations") {
        const style = styles[data.kind] || ["#52615F", "ellipse"];
        color = style[0];
        shape = style[1];
      } else if (view === "communities") {
        color = COMMUNITY_COLOR;
        shape = "ellipse";
      }
      const share = max > min ? (values[i] - min) / (max - min) : 0.3;
      const base = view === "organisations" ? 10 : 18;
      const span = view === "organisations" ? 34 : 60;
      data.color = color;
      data.shape = shape;
      data.w = Math.round(base + span * Math.sqrt(share));
      data.title = nodeLabel(data, view, texts, number);
      data.showLabel = view !== "organisations";
    });
    payload.elements.edges.forEach(function (edge) {
      edge.data.weight = Number(edge.data.weight) || 1;
    });
    return payload;
  }

  // Geographic positions: longitude/latitude on a local plane. Organisations sharing a point
  // (the municipality's centre when no exact address is known) are spread on a sunflower
  // spiral spaced by the node size.
  function geoPositions(nodes) {
    const located = nodes.filter(function (node) {
      return Number.isFinite(node.data.lat) && Number.isFinite(node.data.lon);
    });
    const lat0 = located.length
      ? located.reduce(function (sum, node) {
          return sum + node.data.lat;
        }, 0) / located.length
      : 52;
    const cosLat = Math.cos((lat0 * Math.PI) / 180);
    const meanSize = nodes.length
      ? nodes.reduce(function (sum, node) {
          return sum + (node.data.w || 12);
        }, 0) / nodes.length
      : 12;
    const step = 0.9 * meanSize;
    const groups = {};
    located.forEach(function (node) {
      const key = node.data.lat.toFixed(4) + "," + node.data.lon.toFixed(4);
      (groups[key] = groups[key] || { lat: node.data.lat, lon: node.data.lon, members: [] }).members.push(node);
    });
    const list = Object.keys(groups).map(function (key) {
      return groups[key];
    });
    // The map's extent becomes about 45 px per square root of the node count (at least 800 px),
    // so node sizes stay legible however large or small the selected area is.
    const lats = list.map(function (g) {
      return g.lat;
    });
    const lons = list.map(function (g) {
      return g.lon * cosLat;
    });
    const extent = list.length
      ? Math.max(
          Math.max.apply(null, lats) - Math.min.apply(null, lats),
          Math.max.apply(null, lons) - Math.min.apply(null, lons),
          0.05
        )
      : 1;
    const scale = Math.max(800, 45 * Math.sqrt(nodes.length)) / extent;
    const positions = {};
    list.forEach(function (group) {
      group.members.forEach(function (node, k) {
        const radius = step * Math.sqrt(k);
        const angle = k * 2.399963;
        positions[node.data.id] = {
          x: group.lon * cosLat * scale + radius * Math.cos(angle),
          y: -group.lat * scale + radius * Math.sin(angle),
        };
      });
    });
    let unplaced = 0;
    nodes.forEach(function (node) {
      if (!positions[node.data.id]) {
        positions[node.data.id] = { x: -200 - 30 * (unplaced % 10), y: 30 * Math.floor(unplaced / 10) };
        unplaced += 1;
      }
    });
    return positions;
  }

  function layoutOptions(name, cy) {
    if (name === "cose") {
      return { name: "cose", animate: false, randomize: false, nodeRepulsion: 6000, fit: true, padding: 20 };
    }
    if (name === "concentric") {
      return {
        name: "concentric",
        animate: false,
        fit: true,
        padding: 20,
        concentric: function (node) {
          return node.data("w");
        },
        levelWidth: function () {
          return 6;
        },
      };
    }
    const positions = geoPositions(cy.nodes().map(function (n) {
      return { data: n.data() };
    }));
    return {
      name: "preset",
      animate: false,
      fit: true,
      padding: 20,
      positions: function (node) {
        return positions[node.id()];
      },
    };
  }

  function renderList(payload) {
    const list = document.getElementById("network-view-list");
    const count = document.getElementById("network-view-count");
    if (!list) {
      return;
    }
    const fragment = document.createDocumentFragment();
    const nodes = payload.elements.nodes.slice().sort(function (a, b) {
      return String(a.data.title).localeCompare(String(b.data.title), language());
    });
    nodes.forEach(function (node) {
      const item = document.createElement("li");
      if (node.data.url) {
        const link = document.createElement("a");
        link.href = node.data.url;
        link.textContent = node.data.title;
        link.setAttribute("data-node-id", node.data.id);
        item.appendChild(link);
      } else {
        item.textContent = node.data.title;
      }
      fragment.appendChild(item);
    });
    list.replaceChildren(fragment);
    if (count) {
      count.textContent = new Intl.NumberFormat(language()).format(nodes.length);
    }
  }

  function setStatus(text) {
    const status = document.getElementById("network-view-status");
    if (status) {
      status.textContent = text;
    }
  }

  function colourLegend() {
    document.querySelectorAll("#network-view-legend [data-color]").forEach(function (swatch) {
      swatch.style.backgroundColor = swatch.getAttribute("data-color");
    });
  }

  function initGraph() {
    const container = document.querySelector("[data-network-view]");
    if (!container || typeof window.cytoscape !== "function") {
      return;
    }
    const texts = readJson(container.dataset.texts) || {};
    const viewSelect = document.getElementById("nv-view");
    const sizeSelect = document.getElementById("nv-size");
    const layoutSelect = document.getElementById("nv-layout");
    const legend = document.getElementById("network-view-legend");
    const state = { payload: null, cy: null };
    let resolveReady;
    const api = {
      cy: null,
      ready: new Promise(function (resolve) {
        resolveReady = resolve;
      }),
      load: load,
    };
    window.networkView = api;
    colourLegend();

    function draw() {
      const payload = decorate(state.payload, texts, sizeSelect ? sizeSelect.value : "partners");
      if (state.cy) {
        state.cy.destroy();
      }
      const cy = window.cytoscape({
        container: container,
        elements: payload.elements,
        wheelSensitivity: 0.3,
        minZoom: 0.05,
        maxZoom: 8,
        textureOnViewport: payload.elements.nodes.length > 800,
        hideEdgesOnViewport: payload.elements.edges.length > 3000,
        style: [
          {
            selector: "node",
            style: {
              "background-color": "data(color)",
              shape: "data(shape)",
              width: "data(w)",
              height: "data(w)",
              "border-width": 1,
              "border-color": "#FFFFFF",
              label: "",
              "font-size": 11,
              color: "#1C2529",
              "text-valign": "bottom",
              "text-margin-y": 2,
              "text-background-color": "#FFFFFF",
              "text-background-opacity": 0.85,
              "text-background-padding": 2,
            },
          },
          // Names of single organisations only on hover or selection (the list below has all).
          { selector: "node[?showLabel], node.is-hovered, node:selected", style: { label: "data(label)" } },
          // Partners outside the selection: faded, with a dashed outline.
          {
            selector: "node[?outside]",
            style: { opacity: 0.5, "border-width": 2, "border-style": "dashed", "border-color": "#52615F" },
          },
          {
            selector: "edge",
            style: {
              width: "mapData(weight, 1, 20, 1, 8)",
              "line-color": EDGE_COLOR,
              opacity: 0.55,
              "curve-style": "haystack",
            },
          },
          {
            selector: "node:selected, node.is-hovered",
            style: { "border-width": 3, "border-color": "#A8501A", "z-index": 10 },
          },
        ],
        layout: { name: "null" },
      });
      cy.layout(layoutOptions(layoutSelect ? layoutSelect.value : "geo", cy)).run();
      cy.on("tap", "node", function (event) {
        const url = event.target.data("url");
        if (url) {
          window.location.assign(url);
        }
      });
      cy.on("mouseover", "node", function (event) {
        event.target.addClass("is-hovered");
        container.setAttribute("title", event.target.data("title"));
      });
      cy.on("mouseout", "node", function (event) {
        event.target.removeClass("is-hovered");
        container.removeAttribute("title");
      });
      state.cy = cy;
      api.cy = cy;
      renderList(payload);
      if (legend) {
        legend.hidden = payload.view !== "organisations";
      }
      const number = new Intl.NumberFormat(language());
      let message = format(texts.drawn, {
        nodes: number.format(payload.elements.nodes.length),
        edges: number.format(payload.elements.edges.length),
      });
      if (!payload.elements.nodes.length) {
        message = texts.empty;
      } else if (payload.too_large) {
        message = format(texts.tooLarge, {
          count: number.format(payload.organisations),
          max: number.format(payload.max_nodes),
        }) + " " + message;
      }
      setStatus(message);
      container.setAttribute("data-drawn-view", payload.view);
      resolveReady(api);
    }

    function load(view) {
      const url = new URL(container.dataset.graphUrl, window.location.href);
      url.searchParams.set("view", view || (viewSelect ? viewSelect.value : "auto"));
      setStatus(texts.loading);
      return window
        .fetch(url.toString(), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 202) {
            setStatus(texts.pending);
            return null;
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (payload) {
          if (!payload) {
            return;
          }
          state.payload = payload;
          if (viewSelect && viewSelect.value !== "auto" && viewSelect.value !== payload.view) {
            viewSelect.value = payload.view;
          }
          draw();
        })
        .catch(function () {
          setStatus(texts.failed);
        });
    }

    if (viewSelect) {
      viewSelect.addEventListener("change", function () {
        load(viewSelect.value);
      });
    }
    if (sizeSelect) {
      sizeSelect.addEventListener("change", function () {
        if (state.payload) {
          draw();
        }
      });
    }
    if (layoutSelect) {
      layoutSelect.addEventListener("change", function () {
        if (state.cy) {
          state.cy.layout(layoutOptions(layoutSelect.value, state.cy)).run();
        }
      });
    }
    load();
  }

  // ------------------------------------------------------------------ charts

  function initCharts() {
    if (typeof window.Chart !== "function") {
      return;
    }
    const number = new Intl.NumberFormat(language());
    document.querySelectorAll("canvas[data-network-chart]").forEach(function (canvas) {
      const data = readJson(canvas.dataset.networkChart);
      if (!data || !Array.isArray(data.labels) || !data.labels.length) {
        const figure = canvas.closest("figure");
        if (figure) {
          figure.hidden = true;
        }
        return;
      }
      const names = data.names || {};
      const labels = data.labels.map(function (label) {
        return Object.prototype.hasOwnProperty.call(names, label) ? names[label] : label;
      });
      const horizontal = canvas.hasAttribute("data-horizontal");
      if (horizontal && canvas.parentElement) {
        canvas.parentElement.style.height = Math.max(240, 22 * labels.length + 80) + "px";
      }
      const valueAxis = {
        stacked: Boolean(data.stacked),
        beginAtZero: true,
        title: { display: Boolean(data.axis), text: data.axis || "" },
        ticks: {
          callback: function (value) {
            return number.format(value);
          },
        },
      };
      const categoryAxis = { stacked: Boolean(data.stacked), ticks: { autoSkip: false } };
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: labels,
          datasets: data.datasets.map(function (series, i) {
            return {
              label: series.label,
              data: series.data,
              backgroundColor: CHART_COLORS[i % CHART_COLORS.length],
              borderColor: "#FFFFFF",
              borderWidth: 1,
            };
          }),
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          indexAxis: horizontal ? "y" : "x",
          scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
          plugins: {
            tooltip: {
              callbacks: {
                label: function (context) {
                  const value = horizontal ? context.parsed.x : context.parsed.y;
                  return context.dataset.label + ": " + number.format(value);
                },
              },
            },
          },
        },
      });
    });
  }

  function init() {
    initGraph();
    initCharts();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})(window, document);
