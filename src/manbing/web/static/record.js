// Trend charts of the resident record: clinic readings as solid lines, home readings dashed.
(function () {
  function draw() {
    var data = JSON.parse(document.getElementById("series").textContent);
    var L = data.labels;
    function pts(rows, i) { return rows.map(function (r) { return [r[0], r[i]]; }); }
    function line(name, rows, i, color, home) {
      return { name: name, type: "line", data: pts(rows, i), showSymbol: true, symbolSize: home ? 4 : 7,
        lineStyle: { type: home ? "dashed" : "solid", width: home ? 1 : 2 }, itemStyle: { color: color } };
    }
    var base = { tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "time" }, textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif" } };
    var bp = echarts.init(document.getElementById("bp-chart"));
    bp.setOption(Object.assign({}, base, { yAxis: { type: "value", name: "mmHg", min: 40 }, series: [
      line(L.sbp_clinic, data.bp.clinic, 1, "#c0392b", false), line(L.dbp_clinic, data.bp.clinic, 2, "#2e86c1", false),
      line(L.sbp_home, data.bp.home, 1, "#e59866", true), line(L.dbp_home, data.bp.home, 2, "#85c1e9", true)] }));
    var glu = echarts.init(document.getElementById("glu-chart"));
    glu.setOption(Object.assign({}, base, { yAxis: { type: "value", name: "mmol/L", min: 0 }, series: [
      line(L.glu_clinic, data.glucose.clinic, 1, "#7d3c98", false), line(L.glu_home, data.glucose.home, 1, "#bb8fce", true)] }));
    window.addEventListener("resize", function () { bp.resize(); glu.resize(); });
    document.body.dataset.chartsReady = "1";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
