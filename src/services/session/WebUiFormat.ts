/**
 * How the web interface writes sizes, rates, times and percentages: plain browser JavaScript function
 * declarations, put inside the page's script (WebUiScript.ts), and evaluated on their own by the tests.
 * A String.raw template: no backquote and no dollar-brace inside.
 */
export const webUiFormat = String.raw`
  function formatBytes(n) {
    if (!(n > 0)) return "0 B";
    var units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0)) + " " + units[i];
  }

  function formatRate(n) { return formatBytes(n) + "/s"; }

  // Transmission's eta: -1 not available (complete, or stopped), -2 unknown (no rate to go by).
  function formatEta(seconds, percentDone) {
    if (percentDone >= 1) return "done";
    if (typeof seconds !== "number" || seconds < 0 || !isFinite(seconds)) return "\u221e";
    var s = Math.floor(seconds);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    if (m > 0) return m + "m " + (s % 60) + "s";
    return s + "s";
  }

  // Rounded down, so that 100% means complete.
  function formatPercent(fraction) {
    var tenths = Math.floor(Math.max(0, Math.min(1, fraction || 0)) * 1000);
    return (tenths / 10).toFixed(1) + "%";
  }
`
