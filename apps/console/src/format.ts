/** Dates and durations in the reader's locale and time zone, through the platform's Intl (no date library to ship). */
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const seconds = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'second', unitDisplay: 'narrow', maximumFractionDigits: 1 });
const minutes = new Intl.NumberFormat(undefined, { style: 'unit', unit: 'minute', unitDisplay: 'narrow', maximumFractionDigits: 1 });

export const when = (iso: string | null | undefined): string => (iso ? dateTime.format(new Date(iso)) : '—');

export const duration = (from: string, to: string | null | undefined): string => {
  if (!to) return '—';
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return s < 120 ? seconds.format(s) : minutes.format(s / 60);
};

/** A value of a values diff, as it would be written in YAML-ish JSON: short, one line. */
export const shown = (value: unknown): string => (value === undefined ? '' : JSON.stringify(value));
