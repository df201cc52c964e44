// Number, byte, rate and time formatting for the dashboard.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Formats a byte count in binary units: 0 B, 512 B, 1.5 KiB, 23.4 MiB.
 * @param {number} n
 */
export function formatBytes(n) {
  if (!Number.isFinite(n) || n < 0) return "–";
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0
    ? `${Math.round(n)} B`
    : `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)} ${UNITS[i]}`;
}

/**
 * Formats bytes per second.
 * @param {number} n
 */
export function formatRate(n) {
  return `${formatBytes(n)}/s`;
}

/**
 * Formats a count with digit grouping.
 * @param {number} n
 */
export function formatCount(n) {
  return Number.isFinite(n) ? n.toLocaleString("en-US") : "–";
}

/**
 * Formats a unix time (seconds) as local date and time.
 * @param {number} unix
 */
export function formatTime(unix) {
  if (!unix) return "–";
  const d = new Date(unix * 1000);
  const pad = (v) => String(v).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${
    pad(d.getSeconds())
  }`;
}

/**
 * Formats a unix time (seconds) as a local clock time.
 * @param {number} unix
 */
export function formatClock(unix) {
  return unix ? formatTime(unix).slice(11) : "–";
}

/**
 * Formats a duration in seconds: 45s, 12m 3s, 5h 2m, 3d 4h.
 * @param {number} s
 */
export function formatDuration(s) {
  if (!Number.isFinite(s) || s < 0) return "–";
  s = Math.floor(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
