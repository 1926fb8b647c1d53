import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

const COLORS = ["#2f6fde", "#d9822b", "#2a9d5c", "#b5478f", "#7b61c4", "#c0392b"];

export interface ChartProps {
  title: string;
  unit: string;
  /** x: epoch seconds; one array per line. */
  x: number[];
  lines: { label: string; values: (number | null)[] }[];
}

/** One uPlot chart; new data is set in place (no re-creation every 2 s). */
export function Chart(p: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = p.lines.map((l) => l.label).join("|");
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const width = Math.max(260, el.clientWidth);
    const u = new uPlot(
      {
        width,
        height: 180,
        series: [{}, ...p.lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length]!, width: 1.5, spanGaps: false }))],
        axes: [{ stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } }, { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" }, label: p.unit, size: 60 }],
        scales: { x: { time: true } },
        legend: { live: false },
      },
      [p.x, ...p.lines.map((l) => l.values)] as uPlot.AlignedData,
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(260, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [shape]);
  useEffect(() => {
    plot.current?.setData([p.x, ...p.lines.map((l) => l.values)] as uPlot.AlignedData);
  });
  return (
    <figure class="chart">
      <figcaption>{p.title}</figcaption>
      <div ref={box} role="img" aria-label={`${p.title} chart, last 15 minutes`} />
    </figure>
  );
}
