/** Pages that carry values or error text stop at this many bytes of JSON, whatever their item limit. */
const PAGE_MAX_BYTES = 4 * 1024 * 1024;

/** The leading items of a page that fit in maxBytes of JSON (at least one, so a page always moves on). */
export const capBytes = <T>(items: T[], maxBytes = PAGE_MAX_BYTES): T[] => {
  let bytes = 0;
  for (let i = 0; i < items.length; i += 1) {
    bytes += Buffer.byteLength(JSON.stringify(items[i]));
    if (bytes > maxBytes && i > 0) return items.slice(0, i);
  }
  return items;
};

/**
 * A page of `fetched` (at most `limit` items) as it is shown, cut at the byte cap, and the cursor of the
 * next page: the key of the last item shown when the page was cut or full, null when it was the last.
 */
export const pageOf = <T, Key>(fetched: T[], limit: number, key: (item: T) => Key): { shown: T[]; next: Key | null } => {
  const shown = capBytes(fetched);
  return { shown, next: shown.length < fetched.length || fetched.length === limit ? key(shown[shown.length - 1]) : null };
};
