// What the numbers say: the metric charts over the epochs, the shown
// frame's quality list and the collapse alert.

import { LineChart, HistChart } from '../charts.js';
import { POSITIVE, NEGATIVE } from '../palette.js';
import { $, el } from './dom.js';
import { marginOf, methodName } from './state.js';

/**
 * createMetrics makes the charts, in the server's canvases or in stand-ins,
 * and returns {update, showEpoch}: update redraws the charts, showEpoch(e)
 * also shows the epoch's frame quality and collapse flag.
 * @param {import('./state.js').App} app
 */
export function createMetrics(app) {
  const { ui, S } = app;

  function chartCanvas(id) {
    const c = $(id);
    if (c) return c;
    const fig = el('figure', {}, el('figcaption', { text: id.replace('chart-', '') }));
    const canvas = el('canvas', { 'data-testid': id });
    fig.append(canvas);
    ui.charts.append(fig);
    return canvas;
  }

  const charts = {
    loss: new LineChart(chartCanvas('chart-loss'), [{ name: 'loss', colour: '#0072B2', get: (m) => m.loss }]),
    knn: new LineChart(
      chartCanvas('chart-knn'),
      [
        { name: 'kNN accuracy', colour: '#009E73', get: (m) => m.knn_accuracy },
        { name: 'raw input', colour: '#555555', dash: true, get: (m) => m.raw_knn_accuracy },
      ],
      { fixed: [0, 1] },
    ),
    geometry: new LineChart(chartCanvas('chart-geometry'), [
      { name: 'alignment', colour: '#E69F00', get: (m) => m.alignment },
      { name: 'uniformity', colour: '#CC79A7', get: (m) => m.uniformity },
    ]),
    distances: new HistChart(chartCanvas('chart-distances'), POSITIVE, NEGATIVE),
    rank: new LineChart(chartCanvas('chart-rank'), [{ name: 'effective rank', colour: '#332288', get: (m) => m.effective_rank }]),
  };

  // Listening histories are judged by recommendation: the accuracy chart
  // becomes recall@10 against popularity and chance once the run says so.
  let recall = false;
  function showRecall() {
    recall = true;
    charts.knn.setSeries([
      { name: 'recall@10', colour: '#009E73', get: (m) => m.recall_at_10 },
      { name: 'most popular', colour: '#555555', dash: true, get: (m) => m.popularity_recall_at_10 },
      { name: 'random', colour: '#999999', dash: true, get: (m) => m.random_recall_at_10 },
    ]);
    const caption = charts.knn.canvas.closest('figure')?.querySelector('figcaption');
    if (caption) {
      const strong = el('strong', { text: 'Recall@10.' });
      caption.replaceChildren(
        strong,
        " How often a listener's held-out track is among the 10 tracks nearest to what they played (leaving out what they played), against recommending the 10 most popular tracks and 10 at random: the recommender's test.",
      );
    }
  }

  // Data without labels or histories has no accuracy to score: the chart
  // says so instead of drawing zeros.
  let noScore = false;
  function showNoScore() {
    noScore = true;
    const fig = charts.knn.canvas.closest('figure');
    if (!fig) return;
    charts.knn.canvas.hidden = true;
    fig.classList.add('no-data');
    fig.append(
      el('p', {
        class: 'chart-no-data',
        'data-testid': 'chart-knn-none',
        text: 'No accuracy to show: the held-out items have no labels to check the neighbours against. The other charts still show the encoder learning.',
      }),
    );
  }

  function update() {
    const data = S.order.map((e) => ({ epoch: e, metrics: S.epochs.get(e).metrics }));
    if (!recall && data.some((d) => d.metrics && d.metrics.has_recall)) showRecall();
    const measured = data.filter((d) => d.metrics);
    if (!noScore && !recall && measured.length > 0 && !measured.some((d) => d.metrics.has_knn || d.metrics.has_recall)) showNoScore();
    for (const k of ['loss', 'knn', 'geometry', 'rank']) charts[k].set(data, S.viewing);
    const cur = S.viewing != null ? S.epochs.get(S.viewing) : null;
    charts.distances.set(cur && cur.metrics, marginOf(S));
  }

  function updateQuality(frame, metrics) {
    ui.quality.replaceChildren();
    if (S.precomputed && metrics && metrics.has_knn && Number.isFinite(metrics.knn_accuracy)) {
      // No training, so no charts: the one figure there is goes here.
      ui.quality.append(el('dt', { text: 'kNN accuracy' }), el('dd', { text: num(metrics.knn_accuracy, 3) }));
    }
    if (!frame) return;
    const method = frame.method ? methodName(frame.method) : '';
    const rows = [
      ['projection', method && frame.dims ? `${method}, ${frame.dims}D` : method],
      // Zero means "not measured for this frame": a real layout never scores 0.
      ['trustworthiness', frame.trustworthiness > 0 ? num(frame.trustworthiness, 3) : null],
      ['kNN preserved', frame.knn_preservation > 0 ? num(frame.knn_preservation, 3) : null],
      ['t-SNE KL', frame.method === 'tsne' && frame.kl > 0 ? num(frame.kl, 3) : null],
    ];
    for (const [k, v] of rows) {
      if (v == null || v === '') continue;
      ui.quality.append(el('dt', { text: k }), el('dd', { text: v }));
    }
  }

  function showEpoch(e) {
    update();
    updateQuality(e.frame, e.metrics);
    ui.collapse.hidden = !(e.metrics && e.metrics.collapsed);
  }

  return { update, showEpoch };
}

function num(v, digits) {
  return Number.isFinite(v) ? Number(v).toFixed(digits) : null;
}
