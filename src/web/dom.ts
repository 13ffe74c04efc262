/**
 * The page's elements: found by id with the type the script needs (a page that does not match its script
 * fails at once, naming the element), and made with their text. Text only: every name, path and error
 * from the daemon goes in through textContent, never as markup, since names come from torrents anyone
 * can make.
 */

export const byId = <E extends HTMLElement>(id: string, kind: { new (): E; readonly name: string }): E => {
  const node = document.getElementById(id)
  if (!(node instanceof kind)) throw new Error(`the page has no ${kind.name} #${id}`)
  return node
}

export const el = <K extends keyof HTMLElementTagNameMap>(tag: K, className = "", text?: string): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  if (className !== "") node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

/** Writes the status line under the add form; an error shows in the error colour. */
export type Say = (text: string, isError: boolean) => void

export const statusLine = (line: HTMLElement): Say => (text, isError) => {
  line.textContent = text
  line.classList.toggle("error", isError)
}

/** Puts text in a node only when it changed: a list of many rows redrawn every second writes little. */
export const setText = (node: Node, text: string): void => {
  if (node.textContent !== text) node.textContent = text
}
