// DOM helpers shared by the tester's sections.

/** An element with attributes and children (text children become text nodes: nothing is parsed as HTML). */
export function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value)
  node.append(...children)
  return node
}

export const pretty = (value: unknown) => JSON.stringify(value, null, 2)
