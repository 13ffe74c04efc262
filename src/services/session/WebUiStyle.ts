/**
 * The web interface's style sheet (served as /app.css by WebUi.ts). One column that reflows on any width;
 * on a wide screen the detail view sits beside the list, on a phone it replaces it (with a Back button).
 * Buttons and fields are at least 44 px high so that fingers hit them. System fonts only: the page makes
 * no request outside the daemon.
 */
export const webUiStyle = `:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #ffffff; --text: #1d2330; --muted: #5b6474; --line: #d9dde3;
  --accent: #2563eb; --accent-text: #ffffff; --bar: #e3e6ea; --fill: #2563eb; --done: #2e8b57; --error: #b42318;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181d; --card: #1e232a; --text: #e6e8eb; --muted: #9aa3b0; --line: #323943;
    --accent: #5b8def; --accent-text: #0b0d10; --bar: #2c323b; --fill: #5b8def; --done: #3fae72; --error: #f97066;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 16px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
header.top {
  display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 4px 16px;
  padding: 12px 16px; background: var(--card); border-bottom: 1px solid var(--line);
}
header.top h1 { margin: 0; font-size: 1.25rem; }
#totals { color: var(--muted); font-variant-numeric: tabular-nums; white-space: pre; }
main { padding: 12px; max-width: 1400px; margin: 0 auto; display: grid; gap: 12px; grid-template-columns: minmax(0, 1fr); }
@media (min-width: 960px) {
  body.detail-open main { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); align-items: start; }
  #detail { position: sticky; top: 12px; max-height: calc(100vh - 24px); overflow-y: auto; }
}
@media (max-width: 959px) {
  body.detail-open #list-section { display: none; }
}
section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; min-width: 0; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
button, input[type="text"], input[type="file"] { font: inherit; min-height: 44px; }
button {
  border: 1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--text);
  padding: 6px 14px; cursor: pointer; touch-action: manipulation;
}
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: 0.45; cursor: default; }
button.primary { background: var(--accent); color: var(--accent-text); border-color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
#add-form { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: flex-end; }
#add-form .field { display: flex; flex-direction: column; gap: 4px; flex: 1 1 240px; min-width: 0; }
#add-form label { font-size: 0.9rem; color: var(--muted); }
#add-form .check { display: flex; align-items: center; gap: 8px; min-height: 44px; color: var(--text); }
input[type="text"] {
  width: 100%; padding: 8px 10px; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--text);
}
input[type="checkbox"] { width: 22px; height: 22px; }
#status-line { min-height: 1.4em; margin: 8px 0 0; color: var(--muted); overflow-wrap: anywhere; }
#status-line.error { color: var(--error); }
#torrents { list-style: none; margin: 0; padding: 0; display: grid; gap: 10px; }
li.torrent {
  border: 1px solid var(--line); border-radius: 8px; padding: 10px; cursor: pointer; background: var(--card);
}
li.torrent.open { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); }
li.torrent .head { display: flex; gap: 8px; align-items: center; justify-content: space-between; }
li.torrent .name {
  flex: 1 1 auto; min-width: 0; text-align: left; border: none; padding: 4px 0; background: none;
  font-weight: 600; overflow-wrap: anywhere; min-height: 44px;
}
li.torrent .size { color: var(--muted); white-space: nowrap; font-variant-numeric: tabular-nums; }
.bar { height: 10px; background: var(--bar); border-radius: 5px; overflow: hidden; margin: 6px 0; }
.bar .fill { height: 100%; width: 0; background: var(--fill); transition: width 0.3s ease; }
li.torrent[data-status="6"] .fill, li.torrent[data-status="5"] .fill { background: var(--done); }
li.torrent[data-status="0"] .fill { opacity: 0.5; }
.facts {
  display: flex; flex-wrap: wrap; gap: 2px 14px; color: var(--muted); font-size: 0.9rem;
  font-variant-numeric: tabular-nums;
}
.facts .status { color: var(--text); font-weight: 500; }
.torrent-error { color: var(--error); font-size: 0.9rem; margin-top: 4px; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.actions button { flex: 1 1 auto; min-width: 64px; max-width: 140px; padding: 6px 10px; }
#empty { color: var(--muted); margin: 8px 0; }
#detail header { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
#detail header h2 { margin: 0; overflow-wrap: anywhere; min-width: 0; }
dl.facts-list { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 4px 12px; margin: 0; }
dl.facts-list dt { color: var(--muted); }
dl.facts-list dd { margin: 0; overflow-wrap: anywhere; }
.piece-box { width: 100%; line-height: 0; }
#piece-map { display: block; max-width: 100%; }
#piece-summary { color: var(--muted); font-size: 0.9rem; margin: 4px 0 0; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; white-space: nowrap; }
#files td:first-child, #trackers td:first-child { overflow-wrap: anywhere; min-width: 8em; }
#peers td, #files td:not(:first-child) { white-space: nowrap; }
dialog {
  border: 1px solid var(--line); border-radius: 10px; background: var(--card); color: var(--text);
  width: min(420px, calc(100vw - 32px)); padding: 16px;
}
dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
dialog p { overflow-wrap: anywhere; font-weight: 600; }
dialog label { display: flex; align-items: center; gap: 8px; min-height: 44px; }
dialog .actions { justify-content: flex-end; }
`
