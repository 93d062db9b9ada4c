// A sparkline: the last points of a series as an SVG polyline, with its
// latest value as the accessible name (a chart alone tells a screen reader nothing).
const NS = 'http://www.w3.org/2000/svg';

export function sparkline(points: readonly number[], label: string, width = 90, height = 22): SVGSVGElement {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  const max = Math.max(...points, 1e-9);
  const step = points.length > 1 ? width / (points.length - 1) : width;
  const line = document.createElementNS(NS, 'polyline');
  line.setAttribute(
    'points',
    points
      .map((p, i) => `${(i * step).toFixed(1)},${(height - 2 - (p / max) * (height - 4)).toFixed(1)}`)
      .join(' '),
  );
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#0b57d0');
  line.setAttribute('stroke-width', '1.5');
  svg.append(line);
  // One point draws no line: mark it, so a fresh chart is not blank.
  if (points.length === 1) {
    const dot = document.createElementNS(NS, 'circle');
    dot.setAttribute('cx', '2');
    dot.setAttribute('cy', String(height / 2));
    dot.setAttribute('r', '2');
    dot.setAttribute('fill', '#0b57d0');
    svg.append(dot);
  }
  return svg;
}
