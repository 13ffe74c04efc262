/** Reading the daemon's settings (session-get, only the ones the page knows). */
import { rpc } from "./rpc.js"
import { settingKeys, type Settings, settingsFrom } from "./sessionSettings.js"

/** The daemon's settings, read now. */
export const loadSettings = async (): Promise<Settings> =>
  settingsFrom(await rpc<{ readonly [key: string]: unknown }>("session-get", { fields: settingKeys }))
