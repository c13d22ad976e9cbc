// Finding and making elements. Text goes in as textContent (el's text
// property), never as markup.

/** $ returns the element with the data-testid, or null. */
export const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

/** need returns the element with the test id, creating a stand-in in parent if absent. */
export function need(id, tag, parent) {
  let node = $(id);
  if (!node) {
    node = document.createElement(tag);
    node.dataset.testid = id;
    parent.append(node);
  }
  return node;
}

/**
 * el makes an element. Props: class, text (textContent), style (an object
 * of CSS properties), on<event> (a listener), data-* and aria-* (attributes);
 * any other is set as a property. Null children are skipped.
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k === 'style') Object.assign(e.style, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k.startsWith('data-') || k.startsWith('aria-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c != null));
  return e;
}
