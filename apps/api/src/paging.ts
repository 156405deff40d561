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
