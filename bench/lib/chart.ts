/** One group of bars: a label and one value per series. */
export interface BarGroup {
  label: string
  values: number[]
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const COLORS = ['#3274d9', '#e0752d', '#56a64b', '#a352cc']

/**
 * A small self-contained SVG bar chart (no dependency, so the bench can write it anywhere):
 * groups side by side, one bar per series, the value printed above each bar.
 */
export function barChartSvg(title: string, series: string[], groups: BarGroup[], unit: string): string {
  const width = 760
  const height = 340
  const top = 50
  const bottom = 60
  const left = 20
  const plotHeight = height - top - bottom
  const max = Math.max(...groups.flatMap((g) => g.values.filter(Number.isFinite)), 1e-9)
  const groupWidth = (width - left * 2) / groups.length
  const barWidth = Math.min(60, (groupWidth * 0.8) / series.length)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ]
  series.forEach((name, i) => {
    const x = left + i * 190
    parts.push(
      `<rect x="${x}" y="${height - 22}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`,
    )
    parts.push(`<text x="${x + 18}" y="${height - 12}">${escapeXml(name)}</text>`)
  })
  groups.forEach((group, g) => {
    const x0 = left + g * groupWidth + (groupWidth - barWidth * series.length) / 2
    group.values.forEach((value, s) => {
      const h = Number.isFinite(value) ? (value / max) * plotHeight : 0
      const x = x0 + s * barWidth
      const y = top + plotHeight - h
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s % COLORS.length]}"/>`,
      )
      const text = Number.isFinite(value) ? `${Number(value.toPrecision(3))}${unit}` : 'n/a'
      parts.push(
        `<text x="${(x + (barWidth - 4) / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle">${escapeXml(text)}</text>`,
      )
    })
    parts.push(
      `<text x="${(left + g * groupWidth + groupWidth / 2).toFixed(1)}" y="${top + plotHeight + 18}" text-anchor="middle">${escapeXml(group.label)}</text>`,
    )
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
