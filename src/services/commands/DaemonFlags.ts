/**
 * The daemon's own options (`bt-effect daemon`), beside those it shares with other commands (the state
 * folder, the DHT's, --hash-threads): where it listens, who may call it, where torrents go, the watch
 * folder and the folders its APIs may send data to. Kept apart from src/main.ts, which puts commands together.
 */
import * as Options from "@effect/cli/Options"
import { optionalText, portOption, textOption } from "./CommandOptions.js"

const repeatedText = (name: string, placeholder: string, description: string) =>
  Options.text(name).pipe(Options.repeated, Options.withPseudoName(placeholder), Options.withDescription(description))

export const daemonFlags = {
  rpcPort: portOption("rpc-port", 9091, "the RPC, qBittorrent API and web interface port"),
  rpcHost: textOption("rpc-host", "127.0.0.1", "ADDRESS", "the address the RPC listens on"),
  allowedHost: repeatedText("allowed-host", "HOST", "a host name the RPC answers besides localhost"),
  peerPort: portOption("peer-port", 51413, "the one port for peers of all torrents (0 picks one)"),
  downloadDir: optionalText(
    "download-dir",
    "DIR",
    "where torrents go unless added with another folder (default: the saved setting, else ./downloads)"
  ),
  watchDir: optionalText("watch-dir", "DIR", "a folder whose .torrent files are added (then renamed .added)"),
  watchRemove: Options.boolean("watch-remove").pipe(Options.withDescription("remove the watch folder's .torrent files once added")),
  allowFolder: repeatedText("allow-folder", "DIR", "a folder the APIs may put data in besides the download folders ('/' allows all)")
}
