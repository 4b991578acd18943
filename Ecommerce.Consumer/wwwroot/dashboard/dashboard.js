// The live sales dashboard: polls the ingestion service's own API every few seconds and redraws. Every number
// shown carries its raw value in a data attribute, so that a test can compare the page with the API exactly.
"use strict";

const refreshMs = 3000;
const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const count = new Intl.NumberFormat("en-US");
const palette = ["#3566d6", "#e07b39", "#2f9e6e", "#b23a8a", "#7a5bd1", "#c9a227", "#4aa3c7", "#8c5a3c"];
const charts = {};
// The dead-letter topic is read whole for its counts: every tenth refresh is often enough.
const deadLetterEvery = 10;
let cycle = 0;
let deadLetters = null;

async function get(path) {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function setKpi(name, value, format, change) {
  const element = document.querySelector(`[data-kpi="${name}"]`);
  element.dataset.value = String(value);
  element.textContent = format(value);
  const changeElement = document.querySelector(`[data-change="${name}"]`);
  changeElement.classList.remove("up", "down");
  if (change === null || change === undefined) {
    changeElement.textContent = "no orders in the hour before";
  } else {
    changeElement.textContent = Math.abs(change) >= 10
      ? `▲ ${(1 + change).toFixed(0)} times the hour before`
      : `${change >= 0 ? "▲" : "▼"} ${(Math.abs(change) * 100).toFixed(1)} % on the hour before`;
    changeElement.classList.add(change >= 0 ? "up" : "down");
  }
}

function fillTable(id, rows, cells) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(...rows.map(row => {
    const tr = document.createElement("tr");
    for (const value of cells(row)) {
      const td = document.createElement("td");
      td.textContent = value; // Names come from the events: text, never markup.
      tr.append(td);
    }
    return tr;
  }));
}

function chart(id, type, data, options) {
  if (charts[id]) {
    charts[id].data = data;
    charts[id].update("none");
    return;
  }
  charts[id] = new Chart(document.getElementById(id), {
    type,
    data,
    options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "bottom" } } }, options),
  });
}

function byCategory(rows, keyOf, labels, valueOf) {
  const categories = [...new Set(rows.map(r => r.category))].sort();
  return categories.map((category, i) => ({
    label: category,
    backgroundColor: palette[i % palette.length],
    borderColor: palette[i % palette.length],
    data: labels.map(label => rows.filter(r => r.category === category && keyOf(r) === label).reduce((sum, r) => sum + valueOf(r), 0)),
  }));
}

async function refresh() {
  const now = new Date();
  const hourAgo = new Date(now.getTime() - 3600_000);
  const [summary, perMinute, monthly, customers, products, multiRegion, status, freshDeadLetters] = await Promise.all([
    get(`/api/analytics/summary?from=${encodeURIComponent(hourAgo.toISOString())}&to=${encodeURIComponent(now.toISOString())}`),
    get("/api/analytics/revenue-per-minute?minutes=60"),
    get("/api/analytics/monthly-sales"),
    get("/api/analytics/top-customers?days=30&limit=8"),
    get("/api/analytics/product-quantities?limit=8"),
    get("/api/analytics/multi-region-customers?limit=8"),
    get("/api/ingestion/status"),
    deadLetters === null || cycle++ % deadLetterEvery === 0 ? get("/api/dead-letters?limit=8") : Promise.resolve(null),
  ]);

  // The window the tiles show, for whoever compares them with the API.
  document.querySelector(".tiles").dataset.from = summary.from;
  document.querySelector(".tiles").dataset.to = summary.to;
  setKpi("revenue", summary.current.revenue, v => money.format(v), summary.revenueChange);
  setKpi("orders", summary.current.orders, v => count.format(v), summary.ordersChange);
  setKpi("averageOrderValue", summary.current.averageOrderValue, v => money.format(v), summary.averageOrderValueChange);
  setKpi("units", summary.current.units, v => count.format(v), summary.unitsChange);

  // Every minute of the last hour, those without orders as zero.
  const lastMinute = Math.floor(now.getTime() / 60_000) * 60_000;
  const minutes = Array.from({ length: 60 }, (_, i) => lastMinute - (59 - i) * 60_000);
  chart("revenue-per-minute", "line", {
    labels: minutes.map(m => new Date(m).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    datasets: byCategory(perMinute, r => new Date(r.minute).getTime(), minutes, r => r.revenue).map(d => Object.assign(d, { tension: 0.25, pointRadius: 0 })),
  }, { scales: { y: { beginAtZero: true, title: { display: true, text: "revenue" } } } });

  const months = [...new Set(monthly.map(r => `${r.year}-${String(r.month).padStart(2, "0")}`))].sort();
  chart("monthly-sales", "bar", {
    labels: months,
    datasets: byCategory(monthly, r => `${r.year}-${String(r.month).padStart(2, "0")}`, months, r => r.revenue),
  }, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "revenue (all regions)" } } } });

  fillTable("top-customers", customers, c => [c.customerName, c.region, count.format(c.orders), money.format(c.revenue)]);
  fillTable("top-products", products, p => [p.productName, p.category, count.format(p.quantitySold), money.format(p.revenue)]);
  fillTable("multi-region", multiRegion, c => [c.customerName, c.region, count.format(c.regions), count.format(c.orders)]);

  const lag = status.partitions.reduce((sum, p) => sum + (p.lag ?? 0), 0);
  const freshness = status.lastBatchAt ? Math.max(0, (now - new Date(status.lastBatchAt)) / 1000) : null;
  const seen = status.ingested + status.duplicates + status.deadLettered;
  const health = {
    state: status.state,
    lag: count.format(lag),
    freshness: freshness === null ? "no batch yet" : `${freshness.toFixed(1)} s since the last batch`,
    ingested: count.format(status.ingested),
    deadLettered: count.format(status.deadLettered),
    deadLetterRate: seen === 0 ? "–" : `${((status.deadLettered / seen) * 100).toFixed(2)} %`,
  };
  for (const [name, value] of Object.entries(health)) {
    document.querySelector(`[data-health="${name}"]`).textContent = value;
  }
  document.querySelector('[data-health="ingested"]').dataset.value = String(status.ingested);
  document.getElementById("updated").textContent = now.toLocaleTimeString();

  if (freshDeadLetters === null) {
    return;
  }

  deadLetters = freshDeadLetters;
  const codes = Object.entries(deadLetters.byCode);
  fillTable("dead-letter-codes", codes, ([code, n]) => [code, count.format(n)]);
  document.querySelectorAll("#dead-letter-codes tbody tr").forEach((tr, i) => { tr.dataset.code = codes[i][0]; tr.dataset.count = String(codes[i][1]); });
  fillTable("dead-letters", deadLetters.items, d => [
    d.failedAt ? new Date(d.failedAt).toLocaleString() : "",
    `${d.code}: ${d.reason}`,
    d.value ?? `(not text: ${d.valueBytes} bytes)`,
    d.source ? `${d.source.topic} ${d.source.partition}@${d.source.offset}` : "",
    "",
  ]);
  document.querySelectorAll("#dead-letters tbody tr").forEach((tr, i) => {
    const d = deadLetters.items[i];
    const button = document.createElement("button");
    button.textContent = "Replay";
    button.disabled = !d.replayable;
    button.title = d.replayable ? "Send this event to the orders topic again" : "Only the first bytes of this event were kept";
    button.addEventListener("click", () => replay(d.partition, d.offset, button));
    tr.lastElementChild.append(button);
  });
}

async function replay(partition, offset, button) {
  button.disabled = true;
  const result = document.getElementById("replay-result");
  try {
    const response = await fetch("/api/dead-letters/replay", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ deadLetters: [{ partition, offset }] }),
    });
    const [outcome] = await response.json();
    result.textContent = outcome.replayed
      ? `Dead letter ${partition}@${offset} sent again: orders partition ${outcome.ordersPartition}, offset ${outcome.ordersOffset}.`
      : `Dead letter ${partition}@${offset} not sent: ${outcome.error}`;
  } catch (error) {
    result.textContent = `Replay failed: ${error.message}`;
  }
}

async function loop() {
  try {
    await refresh();
    document.getElementById("error").textContent = "";
  } catch (error) {
    document.getElementById("error").textContent = `could not refresh: ${error.message}`;
  }
  setTimeout(loop, refreshMs);
}

loop();
