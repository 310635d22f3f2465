// The ops page (/ops): reads the admin API with the key kept in this tab (sessionStorage) and draws it.
// Every value from the API reaches the page as text (textContent, setAttribute): nothing is parsed as HTML.
'use strict';
(function () {
  const KEY_ITEM = 'oms-ops-admin-key';
  const REFRESH_MS = 5000;
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  let timer;
  let loading = false;

  function key() {
    return sessionStorage.getItem(KEY_ITEM);
  }

  function setStatus(text, isError) {
    const status = $('status');
    status.textContent = text;
    status.classList.toggle('error', Boolean(isError));
  }

  async function api(method, path) {
    const response = await fetch(path, {
      method,
      cache: 'no-store',
      headers: { Authorization: 'Bearer ' + key(), Accept: 'application/json' },
    });
    const text = await response.text();
    let body;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const detail = body && (body.detail || body.title);
      const error = new Error(method + ' ' + path + ' answered ' + response.status + (detail ? ': ' + detail : ''));
      error.status = response.status;
      throw error;
    }
    return body;
  }

  /** An element with text and attributes; children are elements or strings (as text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== undefined && value !== null) node.setAttribute(name, String(value));
    }
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function fill(tbodyId, rows, columns, emptyText) {
    const body = $(tbodyId);
    body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { class: 'empty', colspan: columns }, emptyText))]));
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return '—';
    const n = Number(ms);
    if (n < 1000) return Math.round(n) + ' ms';
    if (n < 60000) return (n / 1000).toFixed(1) + ' s';
    if (n < 3600000) return (n / 60000).toFixed(1) + ' min';
    return (n / 3600000).toFixed(1) + ' h';
  }

  function shortId(id) {
    return id === null || id === undefined ? '—' : String(id).slice(0, 8) + '…';
  }

  /** Hours and minutes, for the chart's axis. */
  function clock(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function time(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
  }

  // ---- the sections ------------------------------------------------------------------------------

  function drawOrders(overview) {
    const rows = overview.orders_by_status;
    const total = rows.reduce((sum, r) => sum + r.count, 0);
    fill(
      'orders-rows',
      rows.map((r) =>
        el('tr', { 'data-status': r.status }, el('td', {}, r.status), el('td', { class: 'num count-cell' }, r.count)),
      ),
      2,
      'no orders yet',
    );
    $('orders-total').textContent = String(total);
    $('orders-chart').replaceChildren(
      horizontalBars(
        rows.map((r) => ({ label: r.status, value: r.count })),
        360,
      ),
    );
  }

  /** Horizontal bars drawn at `width` CSS pixels (narrower on a narrow card): text stays at its size. */
  function horizontalBars(items, width, second) {
    const rowHeight = 22;
    const labelWidth = 90;
    const height = Math.max(1, items.length) * rowHeight + 4;
    const max = Math.max(1, ...items.map((i) => i.value));
    const chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, role: 'img', 'aria-label': 'bar chart' });
    items.forEach((item, n) => {
      const y = n * rowHeight + 2;
      const w = Math.round(((width - labelWidth - 60) * item.value) / max);
      chart.append(svg('text', { x: labelWidth - 6, y: y + 14, 'text-anchor': 'end' }, item.label));
      chart.append(
        svg('rect', {
          class: second && n > 0 ? 'bar second' : 'bar',
          x: labelWidth,
          y: y + 2,
          width: Math.max(w, 1),
          height: rowHeight - 6,
        }),
      );
      chart.append(
        svg(
          'text',
          { x: labelWidth + Math.max(w, 1) + 6, y: y + 14 },
          item.note === undefined ? item.value : item.value + '  ' + item.note,
        ),
      );
    });
    return chart;
  }

  function drawThroughput(overview) {
    $('window-minutes').textContent = String(overview.throughput.window_minutes);
    $('throughput-chart').replaceChildren(
      minuteChart(overview.throughput.minutes, {
        label: 'orders placed per minute',
        bar: (m) => m.placed,
        line: (m) => m.decision_p95_ms,
        title: (m) =>
          m.placed +
          ' placed, ' +
          m.confirmed +
          ' confirmed, ' +
          m.rejected +
          ' rejected, p50 ' +
          duration(m.decision_p50_ms) +
          ', p95 ' +
          duration(m.decision_p95_ms),
      }),
    );
    const requests = overview.api_requests;
    $('requests').hidden = requests === null;
    if (requests !== null) {
      $('requests-chart').replaceChildren(
        minuteChart(requests, {
          label: 'API requests per minute',
          bar: (m) => m.requests,
          line: (m) => m.p95_ms,
          title: (m) => m.requests + ' requests, p50 ' + duration(m.p50_ms) + ', p95 ' + duration(m.p95_ms),
        }),
      );
    }
  }

  /** Bars per minute (as wide as the card) with a p95 line on its own scale; each bar's title tells its minute. */
  function minuteChart(minutes, series) {
    const width = 900;
    const height = 200;
    const left = 40;
    const right = 75;
    const top = 10;
    const bottom = 30;
    const plotW = width - left - right;
    const plotH = height - top - bottom;
    const maxBar = Math.max(1, ...minutes.map(series.bar));
    const maxMs = Math.max(1, ...minutes.map((m) => series.line(m) || 0));
    const chart = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, class: 'fill', role: 'img', 'aria-label': series.label });
    chart.append(svg('line', { class: 'axis', x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH }));
    chart.append(svg('text', { x: left - 4, y: top + 10, 'text-anchor': 'end', class: 'muted' }, maxBar));
    chart.append(svg('text', { x: left - 4, y: top + plotH, 'text-anchor': 'end', class: 'muted' }, 0));
    chart.append(svg('text', { x: left + plotW + 4, y: top + 10, class: 'muted' }, 'p95 ' + duration(maxMs)));
    const step = plotW / Math.max(1, minutes.length);
    const points = [];
    minutes.forEach((m, n) => {
      const x = left + n * step;
      const h = Math.round((plotH * series.bar(m)) / maxBar);
      const bar = svg('rect', {
        class: 'bar',
        x: x + 2,
        y: top + plotH - h,
        width: Math.max(1, step - 4),
        height: h,
        'data-minute': m.minute,
        'data-value': series.bar(m),
      });
      bar.append(svg('title', {}, time(m.minute) + ': ' + series.title(m)));
      chart.append(bar);
      if (n % 3 === 0 || n === minutes.length - 1) {
        chart.append(svg('text', { x: x + step / 2, y: height - 10, 'text-anchor': 'middle', class: 'muted' }, clock(m.minute)));
      }
      const ms = series.line(m);
      if (ms !== null) points.push([x + step / 2, top + plotH - (plotH * ms) / maxMs]);
    });
    if (points.length > 0) {
      chart.append(svg('polyline', { class: 'line', points: points.map((p) => p.join(',')).join(' ') }));
      for (const [x, y] of points) chart.append(svg('circle', { class: 'dot', cx: x, cy: y, r: 3 }));
    }
    return chart;
  }

  function drawFunnel(funnel) {
    const t = funnel.totals;
    const pct = (r) => (r === null || r === undefined ? '' : '(' + Math.round(r * 100) + '%)');
    $('funnel-chart').replaceChildren(
      horizontalBars(
        [
          { label: 'placed', value: t.placed },
          { label: 'confirmed', value: t.confirmed, note: pct(t.conversion.placed_to_confirmed) },
          { label: 'shipped', value: t.shipped, note: pct(t.conversion.confirmed_to_shipped) },
          { label: 'delivered', value: t.delivered, note: pct(t.conversion.shipped_to_delivered) },
          { label: 'rejected', value: t.rejected },
          { label: 'cancelled', value: t.cancelled },
        ],
        640,
        true,
      ),
    );
    const steps = [
      ['placed → confirmed', t.latency_ms.placed_to_confirmed],
      ['confirmed → shipped', t.latency_ms.confirmed_to_shipped],
      ['shipped → delivered', t.latency_ms.shipped_to_delivered],
      ['placed → delivered', t.latency_ms.placed_to_delivered],
    ];
    fill(
      'funnel-latency',
      steps.map(([name, p]) =>
        el(
          'tr',
          {},
          el('td', {}, name),
          el('td', { class: 'num' }, duration(p.p50)),
          el('td', { class: 'num' }, duration(p.p95)),
        ),
      ),
      3,
      '',
    );
  }

  function drawRelay(overview) {
    fill(
      'relay-rows',
      overview.relay.map((r) =>
        el(
          'tr',
          { 'data-sink': r.sink },
          el('td', { class: 'mono' }, r.sink),
          el('td', { class: 'num' }, r.after_checkpoint),
          el('td', { class: r.oldest_after_checkpoint_ms > 5000 ? 'num late' : 'num' }, duration(r.oldest_after_checkpoint_ms)),
          el('td', {}, time(r.checkpoint_at)),
        ),
      ),
      4,
      'no relay checkpoint yet',
    );
  }

  function drawConsumers(overview) {
    if (overview.consumers === null) return fill('consumer-rows', [], 5, 'not readable now (see below)');
    fill(
      'consumer-rows',
      overview.consumers.map((g) => {
        const oldest = Math.max(g.oldest_pending_ms || 0, g.oldest_backlog_ms || 0);
        return el(
          'tr',
          { 'data-group': g.group },
          el('td', {}, g.group),
          el('td', { class: 'num' }, g.pending),
          el('td', { class: 'num' }, g.backlog),
          el(
            'td',
            { class: oldest > 5000 ? 'num late' : 'num' },
            g.oldest_pending_ms === null && g.oldest_backlog_ms === null ? '—' : duration(oldest),
          ),
          el('td', { class: 'num' }, g.consumers),
        );
      }),
      5,
      'no consumer groups',
    );
  }

  function drawBreakers(overview) {
    if (overview.breakers === null) return fill('breaker-rows', [], 3, 'not readable now (see below)');
    fill(
      'breaker-rows',
      overview.breakers.map((b) =>
        el(
          'tr',
          { 'data-partner': b.partner },
          el('td', {}, b.partner),
          el('td', {}, el('span', { class: 'badge ' + b.state }, b.state)),
          el('td', { class: 'mono' }, b.kind + ' · ' + b.instance),
        ),
      ),
      3,
      'no process with a partner breaker reports',
    );
  }

  function drawWorkers(overview) {
    if (overview.heartbeats === null) return fill('worker-rows', [], 3, 'not readable now (see below)');
    fill(
      'worker-rows',
      overview.heartbeats.map((h) =>
        el(
          'tr',
          { 'data-kind': h.kind },
          el('td', {}, el('span', { class: 'badge ' + (h.fresh ? 'fresh' : 'stale') }, h.kind)),
          el('td', { class: 'mono' }, h.instance),
          el('td', { class: 'num' }, duration(h.age_ms) + ' ago'),
        ),
      ),
      3,
      'no heartbeats',
    );
  }

  // The counts are the overview's (every stuck saga, every dead letter); the rows are the first 50 of each list.
  function drawSagas(answer, overview) {
    $('stuck-count').textContent = '(' + overview.stuck_sagas + ', no progress for ' + duration(answer.stuck_after_ms) + ')';
    fill(
      'saga-rows',
      answer.sagas.map((s) =>
        el(
          'tr',
          { 'data-saga-id': s.saga_id },
          el('td', { class: 'mono', title: s.saga_id }, shortId(s.saga_id)),
          el('td', { class: 'mono', title: s.order_id }, shortId(s.order_id)),
          el('td', {}, s.saga_type),
          el('td', {}, s.status),
          el('td', {}, s.current_step === null ? '—' : s.current_step),
          el('td', { class: 'num late' }, duration(s.stuck_for_ms)),
        ),
      ),
      6,
      'none',
    );
  }

  function drawDeadLetters(answer, overview) {
    const letters = answer.dead_letters;
    $('dead-count').textContent = '(' + overview.dead_letters.reduce((sum, d) => sum + d.count, 0) + ')';
    fill(
      'dead-rows',
      letters.map((d) => {
        const button = el('button', { type: 'button', class: 'redrive', 'data-id': d.id }, 'Re-drive');
        button.addEventListener('click', () => redrive(d.id, button));
        return el(
          'tr',
          { 'data-dead-letter-id': d.id },
          el('td', {}, d.source),
          el('td', {}, d.type === null ? '—' : d.type),
          el('td', { class: 'mono', title: d.order_id || '' }, shortId(d.order_id)),
          el('td', { class: 'error' }, d.error),
          el('td', { class: 'num' }, d.attempts),
          el('td', {}, time(d.last_failure_at)),
          el('td', {}, button),
        );
      }),
      7,
      'none',
    );
  }

  async function redrive(id, button) {
    button.disabled = true;
    try {
      const letter = await api('POST', '/api/v1/admin/dead-letters/' + encodeURIComponent(id) + '/redrive');
      button.textContent = 'Re-driven';
      await refresh();
      setStatus('Dead letter ' + letter.id + ' re-driven to ' + letter.source + ' (re-drives: ' + letter.redrives + ').');
    } catch (error) {
      button.disabled = false;
      setStatus(error.message, true);
    }
  }

  // ---- loading -----------------------------------------------------------------------------------

  async function refresh() {
    if (key() === null || loading) return;
    loading = true;
    try {
      const to = new Date();
      const from = new Date(to.getTime() - 24 * 3600 * 1000);
      const [overview, funnel, sagas, dead] = await Promise.all([
        api('GET', '/api/v1/admin/ops'),
        api(
          'GET',
          '/api/v1/analytics/funnel?from=' +
            encodeURIComponent(from.toISOString()) +
            '&to=' +
            encodeURIComponent(to.toISOString()),
        ),
        api('GET', '/api/v1/admin/sagas?stuck=true&limit=50'),
        api('GET', '/api/v1/admin/dead-letters?status=dead&limit=50'),
      ]);
      drawOrders(overview);
      drawThroughput(overview);
      drawFunnel(funnel);
      drawRelay(overview);
      drawConsumers(overview);
      drawBreakers(overview);
      drawWorkers(overview);
      drawSagas(sagas, overview);
      drawDeadLetters(dead, overview);
      const unavailable = $('unavailable');
      unavailable.hidden = overview.unavailable.length === 0;
      unavailable.textContent = 'Not readable now: ' + overview.unavailable.join('; ');
      $('board').hidden = false;
      document.body.dataset.loadedAt = overview.generated_at;
      setStatus('Updated ' + time(overview.generated_at) + '.');
    } catch (error) {
      if (error.status === 401 || error.status === 403) {
        // A key that does not work is not kept: the next refresh would only be refused again.
        sessionStorage.removeItem(KEY_ITEM);
        $('board').hidden = true;
        setStatus(
          (error.status === 401 ? 'The key is unknown or revoked' : 'The key lacks the admin scope') +
            ': enter an admin API key.',
          true,
        );
      } else {
        setStatus(error.message, true);
      }
    } finally {
      loading = false;
    }
  }

  function schedule() {
    clearInterval(timer);
    if ($('auto-refresh').checked) timer = setInterval(refresh, REFRESH_MS);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const value = $('key-input').value.trim();
      if (value === '') return;
      sessionStorage.setItem(KEY_ITEM, value);
      $('key-input').value = '';
      setStatus('Loading…');
      void refresh();
    });
    $('key-forget').addEventListener('click', () => {
      sessionStorage.removeItem(KEY_ITEM);
      $('board').hidden = true;
      setStatus('Key forgotten: enter an admin API key.');
    });
    $('auto-refresh').addEventListener('change', schedule);
    schedule();
    if (key() !== null) void refresh();
  });
})();
