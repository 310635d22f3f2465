/**
 * Entity tags in conditional requests (RFC 9110 §8.8.3, §13.1.1). An If-Match is `*` or a list of
 * entity tags; a well-formed tag that matches nothing makes the request fail its precondition (412),
 * and only a header that is not an entity tag at all is a bad request (400).
 */
export interface EntityTag {
  readonly weak: boolean;
  /** What is between the quotes. */
  readonly opaque: string;
}

/** `*` (any current version), or the tags listed. */
export type IfMatch = '*' | readonly EntityTag[];

/** etagc = %x21 / %x23-7E / obs-text: visible ASCII but DQUOTE, and bytes 0x80–0xFF (as Node hands them over). */
const ETAGC = /^[\x21\x23-\x7e\x80-\xff]*$/;

/**
 * Parses an If-Match field value: `*`, or `#entity-tag` (commas between tags, optional whitespace, empty
 * elements allowed as §5.6.1 says). A bare number is taken as the tag of that version too, since the
 * contract writes `If-Match: <version>`. Undefined when the value is none of these.
 */
export function parseIfMatch(value: string): IfMatch | undefined {
  const text = value.trim();
  if (text === '*') return '*';
  if (/^[0-9]+$/.test(text)) return [{ weak: false, opaque: text }];
  const tags: EntityTag[] = [];
  let at = 0;
  const skipSpace = () => {
    while (text[at] === ' ' || text[at] === '\t') at++;
  };
  while (at < text.length) {
    skipSpace();
    if (text[at] === ',') {
      at++;
      continue;
    }
    if (at >= text.length) break;
    const weak = text.startsWith('W/', at);
    if (weak) at += 2;
    if (text[at] !== '"') return undefined;
    const close = text.indexOf('"', at + 1);
    if (close === -1) return undefined;
    const opaque = text.slice(at + 1, close);
    if (!ETAGC.test(opaque)) return undefined;
    tags.push({ weak, opaque });
    at = close + 1;
    skipSpace();
    if (at < text.length && text[at] !== ',') return undefined;
  }
  return tags.length > 0 ? tags : undefined;
}

/**
 * Whether an If-Match lets a request on a resource whose current tags are `current` go ahead: `*`
 * always (the resource exists), otherwise a listed tag equal to one of them by strong comparison,
 * under which a weak tag never matches (§8.8.3.2).
 */
export function ifMatchAllows(condition: IfMatch, current: readonly string[]): boolean {
  if (condition === '*') return true;
  return condition.some((tag) => !tag.weak && current.includes(tag.opaque));
}
