/*
 * map.js: Leaflet maps of the Münsterland without depending on a tile server.
 *
 * The app must work offline and must not leak visitors' IP addresses to map
 * providers, so by default the base layer is our own GeoJSON of municipal
 * boundaries. A tile layer is added only when the deployment configures one.
 *
 * API (window.NetworkMap):
 *   create(elementOrId, options)            -> L.Map or null
 *       options.boundariesUrl     URL of the municipal boundaries (GeoJSON FeatureCollection)
 *       options.imagePath         URL of vendor/leaflet/images/ (for default marker icons)
 *       options.tileUrl           optional tile URL template; empty = no tiles
 *       options.tileAttribution   attribution HTML for the tile layer
 *       options.center, .zoom     initial view until the boundaries arrive
 *       options.scrollWheelZoom   default false, so the page scrolls past the map
 *     map.boundariesReady is a Promise of the parsed GeoJSON (or null on failure),
 *     so a choropleth can reuse it instead of fetching twice.
 *   addMarkers(map, points, options)         -> L.FeatureGroup or null
 *       points: [{lat, lon, title, url, kind, kindLabel}]
 *       options.kindLabels {kind: label} adds a legend; options.legendTitle; options.fit
 *   choropleth(map, geojson, valuesByAgs, options) -> L.GeoJSON or null
 *       options.legendTitle, options.source, options.formatter(value) -> string,
 *       options.key (feature property, default "ags"), options.breaks, options.method
 *       ("quantile" | "equal"), options.nameProperty (default "name")
 *   clearChoropleth(map)
 *   classBreaks(values, classes, method)     -> ascending upper bounds (pure helper)
 *   autoInit(root)                           initialise [data-network-map] elements
 *   KIND_COLORS, SEQUENTIAL_PALETTE
 *
 * Declarative use (no inline script, works under a strict CSP):
 *   <div id="map" class="map" role="region" aria-label="Karte" data-network-map
 *        data-boundaries-url="…" data-image-path="…/vendor/leaflet/images/"
 *        data-tile-url="" data-tile-attribution=""
 *        data-points="points-json" data-choropleth="choropleth-json"></div>
 *   <script type="application/json" id="points-json">
 *     [{"lat": …}] or {"points": [{"lat": …}], "kindLabels": {…}, "legendTitle": "…"}</script>
 *   <script type="application/json" id="choropleth-json">
 *     {"values": {"05515000": 12.3}, "legendTitle": "…", "source": "…",
 *      "unit": "%", "decimals": 1}</script>
 *   Optional: data-scroll-wheel-zoom="true", data-fit-markers="true".
 *
 * Circle markers and polygons are not keyboard-focusable in Leaflet, so pages
 * should also show the same data as a list or table.
 */
(function (window, document) {
  "use strict";

  // Okabe–Ito colours: distinguishable with the common colour-vision
  // deficiencies. Fifteen kinds cannot all get their own safe colour, so kinds
  // that play the same role in the network share one.
  const KIND_COLORS = {
    hospital: "#0072B2",
    rehab_clinic: "#0072B2",
    gp_practice: "#D55E00",
    specialist_practice: "#D55E00",
    mvz: "#D55E00",
    ambulatory_care: "#009E73",
    care_home: "#009E73",
    day_care: "#009E73",
    therapy_practice: "#CC79A7",
    pharmacy: "#CC79A7",
    rescue_station: "#E69F00",
    school: "#56B4E9",
    sme: "#F0E442",
    municipality: "#000000",
    association: "#000000",
  };
  const FALLBACK_KIND_COLOR = "#7f7f7f";

  // ColorBrewer YlGnBu, 5 classes: sequential, colour-blind safe, prints in grey.
  const SEQUENTIAL_PALETTE = ["#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"];
  const NO_DATA_COLOR = "#d9d9d9";

  // Roughly the centre of the four districts plus Münster, shown until (or if
  // never) the boundaries arrive.
  const DEFAULT_CENTER = [51.95, 7.45];
  const DEFAULT_ZOOM = 9;

  const TEXT = {
    de: {
      noData: "keine Daten",
      source: "Quelle",
      loadFailed: "Die Gemeindegrenzen konnten nicht geladen werden.",
      noLeaflet: "Die Karte ist nicht verfügbar.",
      legendKinds: "Art",
    },
    en: {
      noData: "no data",
      source: "Source",
      loadFailed: "The municipal boundaries could not be loaded.",
      noLeaflet: "The map is not available.",
      legendKinds: "Kind",
    },
  };

  function language() {
    const lang = (document.documentElement.getAttribute("lang") || "de").toLowerCase();
    return lang.indexOf("en") === 0 ? "en" : "de";
  }

  function t(key) {
    return TEXT[language()][key];
  }

  function leaflet() {
    // Vendored Leaflet may be missing on a page that forgot the <script>; the
    // rest of the page must keep working, so callers get null instead of a throw.
    return window.L && typeof window.L.map === "function" ? window.L : null;
  }

  function resolveElement(elementOrId) {
    if (!elementOrId) {
      return null;
    }
    if (typeof elementOrId === "string") {
      return document.getElementById(elementOrId);
    }
    return elementOrId.nodeType === 1 ? elementOrId : null;
  }

  function escapeHtml(text) {
    // Leaflet renders attribution and string tooltips as HTML; names in our
    // data are text and must stay text.
    return String(text)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function safeUrl(url) {
    // Only http(s) and same-site links may become popup links; a stored
    // "javascript:" URL must never be clickable.
    if (typeof url !== "string" || url.trim() === "") {
      return null;
    }
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  function normaliseAgs(key) {
    // The 8-digit municipality key starts with "05" in NRW; JSON numbers or
    // spreadsheets often drop the leading zero.
    const text = String(key).trim();
    return /^\d{1,8}$/.test(text) ? text.padStart(8, "0") : text;
  }

  function numberFormatter(unit, decimals) {
    const digits = Number.isInteger(decimals) && decimals >= 0 ? decimals : 1;
    const fmt = new Intl.NumberFormat(language() === "en" ? "en-GB" : "de-DE", {
      maximumFractionDigits: digits,
    });
    const suffix = unit ? "\u00a0" + unit : "";
    return function (value) {
      return fmt.format(value) + suffix;
    };
  }

  function showMessage(map, text) {
    const L = leaflet();
    if (!L || !map) {
      return;
    }
    const control = L.control({ position: "topright" });
    control.onAdd = function () {
      const div = L.DomUtil.create("div", "map-message");
      div.setAttribute("role", "status");
      div.textContent = text;
      return div;
    };
    control.addTo(map);
  }

  function showUnavailable(element) {
    // Without Leaflet there is no map object to attach a control to; a plain
    // sentence tells the user why the box is empty.
    if (element && !element.hasChildNodes()) {
      const p = document.createElement("p");
      p.className = "map-message";
      p.setAttribute("role", "status");
      p.textContent = t("noLeaflet");
      element.appendChild(p);
    }
  }

  /**
   * Build a map in the element and start loading the boundaries.
   */
  function create(elementOrId, options) {
    const element = resolveElement(elementOrId);
    if (!element) {
      return null;
    }
    if (element._networkMap) {
      // htmx may process the same fragment twice; Leaflet throws on a second init.
      return element._networkMap;
    }
    const L = leaflet();
    if (!L) {
      showUnavailable(element);
      return null;
    }
    const opts = options || {};

    if (typeof opts.imagePath === "string" && opts.imagePath !== "") {
      // Leaflet guesses the icon path from its CSS URL, which fails once the
      // files are fingerprinted or served from another prefix.
      L.Icon.Default.imagePath = opts.imagePath.replace(/\/?$/, "/");
    }

    const map = L.map(element, {
      zoomSnap: 0.25,
      scrollWheelZoom: opts.scrollWheelZoom === true,
      minZoom: opts.minZoom || 7,
      maxZoom: opts.maxZoom || 18,
    });
    map.setView(opts.center || DEFAULT_CENTER, opts.zoom || DEFAULT_ZOOM);
    element._networkMap = map;

    const tileUrl = typeof opts.tileUrl === "string" ? opts.tileUrl.trim() : "";
    if (tileUrl !== "") {
      L.tileLayer(tileUrl, {
        attribution: opts.tileAttribution || "",
        maxZoom: opts.maxZoom || 18,
      }).addTo(map);
    }

    map.boundariesReady = loadBoundaries(map, opts);

    if (typeof window.ResizeObserver === "function") {
      // A map created inside a closed <details>, a tab or an htmx swap has no
      // size yet; Leaflet must re-measure once it becomes visible.
      const observer = new window.ResizeObserver(function () {
        map.invalidateSize();
      });
      observer.observe(element);
      map.on("unload", function () {
        observer.disconnect();
      });
    }
    return map;
  }

  function loadBoundaries(map, opts) {
    const url = opts.boundariesUrl;
    if (typeof url !== "string" || url === "" || typeof window.fetch !== "function") {
      return Promise.resolve(null);
    }
    return window
      .fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/geo+json, application/json" },
      })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status + " for " + url);
        }
        return response.json();
      })
      .then(function (geojson) {
        drawBoundaries(map, geojson, opts);
        return geojson;
      })
      .catch(function (err) {
        // An empty grey box without explanation looks broken; say what failed.
        if (window.console) {
          window.console.warn("NetworkMap: boundaries not loaded:", err);
        }
        showMessage(map, t("loadFailed"));
        return null;
      });
  }

  function drawBoundaries(map, geojson, opts) {
    const L = leaflet();
    if (!L || !map || !geojson) {
      return null;
    }
    const attribution = opts.boundariesAttribution || geojson.attribution || "";
    const layer = L.geoJSON(geojson, {
      // Not interactive: the base layer must not swallow clicks meant for
      // markers or the choropleth drawn above it.
      interactive: false,
      attribution: attribution ? escapeHtml(attribution) : undefined,
      style: function () {
        return { color: "#8a9698", weight: 1, fillColor: "#ffffff", fillOpacity: 0.7 };
      },
    }).addTo(map);
    // They arrive after the markers or the choropleth more often than not; drawn on top, their
    // white fill would veil everything under it.
    layer.bringToBack();
    const bounds = layer.getBounds();
    // The boundaries arrive asynchronously; once markers have framed the view
    // (a radius search, one municipality), zooming out to the whole region
    // would undo that and move markers under the user's pointer.
    if (bounds.isValid() && !map._networkFramed) {
      map.fitBounds(bounds, { padding: [8, 8] });
    }
    map._networkBoundaries = layer;
    return layer;
  }

  function legendControl(title, items, source, position) {
    const L = leaflet();
    const control = L.control({ position: position || "bottomright" });
    control.onAdd = function () {
      const div = L.DomUtil.create("div", "map-legend");
      // Legends are read, selected and scrolled; they must not pan the map.
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      if (title) {
        const heading = L.DomUtil.create("p", "map-legend-title", div);
        heading.textContent = title;
      }
      const list = L.DomUtil.create("ul", "", div);
      items.forEach(function (item) {
        const li = L.DomUtil.create("li", "", list);
        const swatch = L.DomUtil.create("span", "map-legend-swatch", li);
        swatch.setAttribute("aria-hidden", "true");
        if (item.round) {
          swatch.classList.add("is-round");
        }
        if (item.noData) {
          swatch.classList.add("is-nodata");
        } else {
          // CSSOM assignment, not a style attribute, so a strict CSP allows it.
          swatch.style.backgroundColor = item.color;
        }
        li.appendChild(document.createTextNode(item.label));
      });
      if (source) {
        const p = L.DomUtil.create("p", "map-source", div);
        p.textContent = t("source") + ": " + source;
      }
      return div;
    };
    return control;
  }

  function coordinate(raw) {
    // Number(null) and Number("") are 0: an organisation without coordinates
    // would land in the Gulf of Guinea instead of being skipped.
    if (raw === null || raw === undefined || (typeof raw === "string" && raw.trim() === "")) {
      return null;
    }
    const value = Number(raw);
    return Number.isFinite(value) ? value : null;
  }

  function popupContent(point, kindLabel) {
    const box = document.createElement("div");
    const href = safeUrl(point.url);
    const title = point.title != null && point.title !== "" ? String(point.title) : "—";
    const heading = document.createElement(href ? "a" : "strong");
    if (href) {
      heading.href = href;
    }
    heading.textContent = title;
    box.appendChild(heading);
    if (kindLabel) {
      const kind = document.createElement("div");
      kind.className = "muted small";
      kind.textContent = kindLabel;
      box.appendChild(kind);
    }
    return box;
  }

  /**
   * Draw points as circle markers coloured by kind, each with a popup link.
   */
  function addMarkers(map, points, options) {
    const L = leaflet();
    if (!L || !map) {
      return null;
    }
    const opts = options || {};
    const colors = Object.assign({}, KIND_COLORS, opts.kindColors || {});
    const labels = opts.kindLabels || {};
    const group = L.featureGroup();
    const seenKinds = [];

    (Array.isArray(points) ? points : []).forEach(function (point) {
      if (!point) {
        return;
      }
      const lat = coordinate(point.lat);
      const lon = coordinate(point.lon != null ? point.lon : point.lng);
      // Organisations without geocoded addresses are common; skip, don't throw.
      if (lat === null || lon === null) {
        return;
      }
      const kind = point.kind || "";
      if (seenKinds.indexOf(kind) === -1) {
        seenKinds.push(kind);
      }
      const kindLabel = point.kindLabel || labels[kind] || "";
      const marker = L.circleMarker([lat, lon], {
        radius: opts.radius || 7,
        // A dark outline keeps light fills (yellow, sky blue) visible on white.
        color: "#1c2529",
        weight: 1,
        fillColor: colors[kind] || FALLBACK_KIND_COLOR,
        fillOpacity: 0.9,
      });
      marker.bindPopup(popupContent(point, kindLabel));
      if (point.title) {
        marker.bindTooltip(escapeHtml(point.title));
      }
      group.addLayer(marker);
    });

    group.addTo(map);
    if (opts.fit && group.getLayers().length > 0) {
      map._networkFramed = true;
      map.fitBounds(group.getBounds(), { padding: [16, 16], maxZoom: 13 });
    }
    if (Object.keys(labels).length > 0 && seenKinds.length > 0) {
      const items = seenKinds.map(function (kind) {
        return {
          color: colors[kind] || FALLBACK_KIND_COLOR,
          label: labels[kind] || kind || "—",
          round: true,
        };
      });
      const legend = legendControl(opts.legendTitle || t("legendKinds"), items, opts.source, "topright");
      legend.addTo(map);
      group.legend = legend;
      group.on("remove", function () {
        legend.remove();
      });
    }
    return group;
  }

  function quantile(sorted, q) {
    // Linear interpolation between closest ranks (R type 7, numpy's default),
    // so breaks agree with what the server would compute.
    const pos = (sorted.length - 1) * q;
    const lower = Math.floor(pos);
    const upper = Math.ceil(pos);
    return sorted[lower] + (sorted[upper] - sorted[lower]) * (pos - lower);
  }

  /**
   * Upper bounds of all classes but the last, ascending and without duplicates.
   * With k breaks there are k + 1 classes: (-inf, b0], (b0, b1], …, (b_{k-1}, +inf).
   */
  function classBreaks(values, classes, method) {
    const clean = (Array.isArray(values) ? values : [])
      .map(Number)
      .filter(Number.isFinite)
      .sort(function (a, b) {
        return a - b;
      });
    const n = Math.max(1, Math.floor(classes || 5));
    if (clean.length === 0 || n === 1) {
      return [];
    }
    const min = clean[0];
    const max = clean[clean.length - 1];
    const breaks = [];
    for (let i = 1; i < n; i += 1) {
      const b = method === "equal" ? min + ((max - min) * i) / n : quantile(clean, i / n);
      // Ties (many municipalities with the same value) collapse classes
      // rather than producing empty ones; a break at max would leave the top
      // class empty.
      if (b < max && (breaks.length === 0 || b > breaks[breaks.length - 1])) {
        breaks.push(b);
      }
    }
    return breaks;
  }

  function paletteFor(classCount, palette) {
    // Spread fewer classes across the full ramp so they stay distinguishable.
    if (classCount >= palette.length) {
      return palette.slice();
    }
    if (classCount === 1) {
      return [palette[Math.floor(palette.length / 2)]];
    }
    const out = [];
    for (let i = 0; i < classCount; i += 1) {
      out.push(palette[Math.round((i * (palette.length - 1)) / (classCount - 1))]);
    }
    return out;
  }

  function classIndex(value, breaks) {
    let i = 0;
    while (i < breaks.length && value > breaks[i]) {
      i += 1;
    }
    return i;
  }

  function clearChoropleth(map) {
    if (map && map._networkChoropleth) {
      map.removeLayer(map._networkChoropleth);
      map._networkChoropleth = null;
    }
  }

  /**
   * Colour municipalities by value, with a legend and a source line.
   */
  function choropleth(map, geojson, valuesByAgs, options) {
    const L = leaflet();
    if (!L || !map || !geojson || !Array.isArray(geojson.features)) {
      return null;
    }
    const opts = options || {};
    const key = opts.key || "ags";
    const nameProperty = opts.nameProperty || "name";
    const format = typeof opts.formatter === "function" ? opts.formatter : numberFormatter("", 1);
    const palette = Array.isArray(opts.palette) && opts.palette.length ? opts.palette : SEQUENTIAL_PALETTE;

    const values = {};
    Object.keys(valuesByAgs || {}).forEach(function (ags) {
      const raw = valuesByAgs[ags];
      const value = raw === null || raw === "" ? NaN : Number(raw);
      if (Number.isFinite(value)) {
        values[normaliseAgs(ags)] = value;
      }
    });
    function valueOf(feature) {
      const props = (feature && feature.properties) || {};
      if (props[key] === undefined || props[key] === null) {
        return undefined;
      }
      return values[normaliseAgs(props[key])];
    }

    // Classes come from the municipalities actually on the map, so values for
    // places outside the region do not stretch the scale.
    const shown = geojson.features.map(valueOf).filter(function (v) {
      return v !== undefined;
    });
    const breaks = Array.isArray(opts.breaks)
      ? opts.breaks.map(Number).filter(Number.isFinite).sort(function (a, b) {
          return a - b;
        })
      : classBreaks(shown, palette.length, opts.method || "quantile");
    const colors = paletteFor(breaks.length + 1, palette);
    let missing = false;

    clearChoropleth(map);
    const layer = L.geoJSON(geojson, {
      style: function (feature) {
        const value = valueOf(feature);
        if (value === undefined) {
          missing = true;
          // Dashed outline as well as grey: "no data" must not read as "low".
          return { color: "#6b7a7d", weight: 0.8, dashArray: "3 3", fillColor: NO_DATA_COLOR, fillOpacity: 0.6 };
        }
        return { color: "#5f6b6d", weight: 0.8, fillColor: colors[classIndex(value, breaks)], fillOpacity: 0.85 };
      },
      onEachFeature: function (feature, featureLayer) {
        const props = feature.properties || {};
        const value = valueOf(feature);
        const name = props[nameProperty] || props.gen || props[key] || "";
        const text = name + ": " + (value === undefined ? t("noData") : format(value));
        featureLayer.bindTooltip(escapeHtml(text), { sticky: true });
      },
    }).addTo(map);

    const min = shown.length ? Math.min.apply(null, shown) : undefined;
    const max = shown.length ? Math.max.apply(null, shown) : undefined;
    const items = colors.map(function (color, i) {
      const low = i === 0 ? min : breaks[i - 1];
      const high = i === breaks.length ? max : breaks[i];
      // Classes are (low, high]; shared rounded bounds are the usual legend form.
      let label = "—";
      if (low !== undefined && high !== undefined) {
        label = low === high ? format(low) : format(low) + " – " + format(high);
      }
      return { color: color, label: label };
    });
    if (missing) {
      items.push({ noData: true, label: opts.noDataLabel || t("noData") });
    }
    const legend = legendControl(opts.legendTitle || "", items, opts.source, opts.position);
    legend.addTo(map);

    layer.legend = legend;
    layer.breaks = breaks;
    layer.colors = colors;
    layer.on("remove", function () {
      legend.remove();
    });
    map._networkChoropleth = layer;
    return layer;
  }

  function readJsonScript(id) {
    if (!id) {
      return null;
    }
    const node = document.getElementById(id);
    if (!node) {
      return null;
    }
    try {
      return JSON.parse(node.textContent);
    } catch (err) {
      if (window.console) {
        window.console.warn("NetworkMap: invalid JSON in #" + id, err);
      }
      return null;
    }
  }

  function initElement(element) {
    if (element._networkMap) {
      return element._networkMap;
    }
    const data = element.dataset;
    const map = create(element, {
      boundariesUrl: data.boundariesUrl,
      imagePath: data.imagePath,
      tileUrl: data.tileUrl,
      tileAttribution: data.tileAttribution,
      scrollWheelZoom: data.scrollWheelZoom === "true",
    });
    if (!map) {
      return null;
    }
    const choro = readJsonScript(data.choropleth);
    if (choro && choro.values) {
      map.boundariesReady.then(function (geojson) {
        if (geojson) {
          choropleth(map, geojson, choro.values, {
            legendTitle: choro.legendTitle,
            source: choro.source,
            breaks: choro.breaks,
            method: choro.method,
            formatter: numberFormatter(choro.unit, choro.decimals),
          });
        }
      });
    }
    // Either a bare array of points or {points, kindLabels, legendTitle}.
    const pointsData = readJsonScript(data.points);
    const points = Array.isArray(pointsData) ? pointsData : pointsData && pointsData.points;
    if (Array.isArray(points)) {
      const meta = Array.isArray(pointsData) ? {} : pointsData;
      addMarkers(map, points, {
        kindLabels: meta.kindLabels,
        legendTitle: meta.legendTitle,
        fit: data.fitMarkers === "true",
      });
    }
    return map;
  }

  function autoInit(root) {
    const scope = root && typeof root.querySelectorAll === "function" ? root : document;
    const found = Array.prototype.slice.call(scope.querySelectorAll("[data-network-map]"));
    if (scope.matches && scope.matches("[data-network-map]")) {
      found.unshift(scope);
    }
    return found.map(initElement);
  }

  window.NetworkMap = {
    create: create,
    addMarkers: addMarkers,
    choropleth: choropleth,
    clearChoropleth: clearChoropleth,
    classBreaks: classBreaks,
    autoInit: autoInit,
    KIND_COLORS: KIND_COLORS,
    SEQUENTIAL_PALETTE: SEQUENTIAL_PALETTE,
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      autoInit(document);
    });
  } else {
    autoInit(document);
  }

  // Maps inside fragments swapped in by htmx.
  document.addEventListener("htmx:load", function (event) {
    autoInit(event.detail && event.detail.elt);
  });

  // Free Leaflet's listeners when htmx removes a map, or they pile up on
  // every swap.
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    const element = event.detail && event.detail.elt;
    if (element && element._networkMap) {
      element._networkMap.remove();
      element._networkMap = null;
    }
  });
})(window, document);
