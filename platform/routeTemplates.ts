interface Node {
  readonly literal: Map<string, Node>;
  param: Node | undefined;
  /** The template that ends here. */
  template: string | undefined;
}

const newNode = (): Node => ({ literal: new Map(), param: undefined, template: undefined });

/** The label of a request whose path matches no template: one series for all of them, never the raw path. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Maps a request path to the route template it matches (`/api/v1/orders/:order_id`), for metric
 * labels: ids in a label would make a series per order. A literal segment wins over a parameter
 * (`/api/v1/orders/batch` is not an order id); a trailing slash and a query string are ignored.
 */
export function routeLabeller(templates: readonly string[]): (path: string) => string {
  const root = newNode();
  for (const template of templates) {
    let node = root;
    for (const segment of template.split('/').filter((s) => s.length > 0)) {
      if (segment.startsWith(':')) node = node.param ??= newNode();
      else {
        let next = node.literal.get(segment);
        if (next === undefined) node.literal.set(segment, (next = newNode()));
        node = next;
      }
    }
    node.template = template;
  }
  const match = (node: Node, path: string, from: number): string | undefined => {
    while (from < path.length && path.charCodeAt(from) === 47 /* / */) from++;
    if (from >= path.length) return node.template;
    let end = path.indexOf('/', from);
    if (end === -1) end = path.length;
    const literal = node.literal.get(path.slice(from, end));
    const found = literal === undefined ? undefined : match(literal, path, end);
    if (found !== undefined) return found;
    return node.param === undefined ? undefined : match(node.param, path, end);
  };
  return (path) => {
    const query = path.indexOf('?');
    return match(root, query === -1 ? path : path.slice(0, query), 0) ?? UNMATCHED_ROUTE;
  };
}
