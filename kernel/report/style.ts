/** The report's inline stylesheet and its small script (live Vega-Lite charts over the static SVG). */

export const REPORT_CSS = `
:root { --fg:#1d2330; --muted:#6b7385; --line:#e2e5ec; --bg:#fff; --code:#f6f7f9; --bad:#b3261e; --ok:#1b7f3b; --accent:#3557c6; }
* { box-sizing: border-box; }
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg);
  max-width: 1000px; margin: 0 auto; padding: 24px 20px 60px; }
h1, h2, h3 { line-height: 1.25; }
.report-title { margin: 0 0 12px; font-size: 28px; }
table { border-collapse: collapse; }
.run-header { font-size: 13.5px; margin-bottom: 16px; }
.run-header th { text-align: left; color: var(--muted); font-weight: 500; padding: 2px 16px 2px 0; vertical-align: top; }
.run-header td { padding: 2px 0; }
.params th, .metrics th { text-align: left; font-weight: 500; padding: 1px 12px 1px 0; }
.muted { color: var(--muted); }
.status.ok { color: var(--ok); font-weight: 600; }
.status.bad { color: var(--bad); font-weight: 600; }
.results { border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 6px; padding: 8px 16px 12px; margin: 16px 0; background: #f8faff; }
.results h2 { margin: 4px 0 8px; font-size: 18px; }
.metrics td { font-variant-numeric: tabular-nums; font-weight: 600; }
.summary-item + .summary-item { margin-top: 8px; }
.toc { border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px; margin: 16px 0 24px; font-size: 14px; }
.toc h2 { font-size: 15px; margin: 4px 0; }
.toc ul { list-style: none; padding: 0; margin: 0; }
.toc li.l2 { padding-left: 14px; } .toc li.l3 { padding-left: 28px; }
.toc a { color: var(--accent); text-decoration: none; }
.cell { margin: 14px 0; }
.cell.code { border-left: 3px solid var(--line); padding-left: 10px; }
.cell.code.failed { border-left-color: var(--bad); }
details.source summary { cursor: pointer; color: var(--muted); font-size: 13px; }
details.source summary code { color: var(--fg); }
.prompt { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--accent); }
.tag { display: inline-block; font-size: 11px; background: #eef1fb; color: var(--accent); border-radius: 3px; padding: 0 5px; margin-left: 6px; }
summary .status.bad { margin-left: 6px; font-size: 12px; }
pre { background: var(--code); padding: 8px 10px; border-radius: 4px; overflow-x: auto; font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, monospace; margin: 6px 0; }
.output.stream { background: transparent; padding: 2px 0; }
.output.stream.stderr { background: #fff5f5; padding: 4px 8px; }
.output.error { border: 1px solid #f1c2bf; background: #fff5f5; border-radius: 4px; padding: 6px 10px; margin: 6px 0; }
.output.error .ename { color: var(--bad); font-weight: 600; font-family: ui-monospace, monospace; font-size: 13px; }
.output.error pre { background: transparent; padding: 4px 0; color: #5c1a16; }
.output.image img, .output.image svg { max-width: 100%; height: auto; }
.output.html { overflow-x: auto; }
.output.html table { font-size: 13px; } .output.html td, .output.html th { padding: 2px 8px; border-bottom: 1px solid var(--line); }
.vega-chart { margin: 8px 0; overflow-x: auto; }
.vega-chart .interactive { display: none; }
.vega-chart.live .interactive { display: block; }
.vega-chart.live .static { display: none; }
.no-static { color: var(--muted); font-style: italic; }
.markdown img { max-width: 100%; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
@media print { details.source { display: none; } .toc { display: none; } }
`;

/**
 * Turn every static chart into the live one. A chart that fails to compile keeps its static SVG; the failure goes
 * to console.warn (not error: a report whose charts degrade gracefully is not broken).
 */
export const REPORT_JS = `
(function () {
  if (typeof vega === 'undefined' || typeof vegaLite === 'undefined') return;
  var charts = document.querySelectorAll('.vega-chart');
  Array.prototype.forEach.call(charts, function (el) {
    try {
      var spec = JSON.parse(el.querySelector('script.vl-spec').textContent);
      var vgSpec = vegaLite.compile(spec).spec;
      var target = el.querySelector('.interactive');
      var view = new vega.View(vega.parse(vgSpec), { renderer: 'svg', container: target, hover: true });
      view.runAsync().then(function () {
        el.classList.add('live');
        el.setAttribute('data-live', 'true');
      }, function (e) { console.warn('tinylab report: chart ' + el.id + ' stays static: ' + e); });
    } catch (e) {
      console.warn('tinylab report: chart ' + el.id + ' stays static: ' + e);
    }
  });
})();
`;
