/**
 * Columns aligned to their widest cell, as `ls -l` and transmission-remote print them: numbers to the
 * right, words to the left, two spaces between columns, and the last column never padded (a long name
 * does not push spaces after it).
 */
export interface Column {
  readonly title: string
  readonly align: "left" | "right"
}

export const textTable = (columns: ReadonlyArray<Column>, rows: ReadonlyArray<ReadonlyArray<string>>): ReadonlyArray<string> => {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? ""
        if (i === columns.length - 1 && c.align === "left") return cell
        return c.align === "right" ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)
      })
      .join("  ")
      .trimEnd()
  return [line(columns.map((c) => c.title)), ...rows.map(line)]
}
