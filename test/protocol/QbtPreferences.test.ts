/**
 * qBittorrent's preferences over our settings (QbtPreferences.ts): the key set and JSON types of
 * qbittorrent-nox 4.5.2's app/preferences (the catalog's shapes.md), a round trip of setPreferences then
 * preferences for the keys that are our settings and those kept, and what is ignored or not applied.
 */
import { describe, expect, it } from "vitest"
import type { SessionSettings } from "../../src/domain/SessionView.js"
import { qbtPreferenceDefaults } from "../../src/protocol/QbtPreferenceDefaults.js"
import { applyPreferences, preferences } from "../../src/protocol/QbtPreferences.js"
import { defaultSettings } from "../../src/services/session/MemoryControl.js"

/** /work/notes/qbt-ref/shapes.md, app_preferences: every key of 4.5.2's answer and its JSON type. */
const shapes452 = [
  "add_trackers: string",
  "add_trackers_enabled: boolean",
  "alt_dl_limit: integer",
  "alt_up_limit: integer",
  "alternative_webui_enabled: boolean",
  "alternative_webui_path: string",
  "announce_ip: string",
  "announce_to_all_tiers: boolean",
  "announce_to_all_trackers: boolean",
  "anonymous_mode: boolean",
  "async_io_threads: integer",
  "auto_delete_mode: integer",
  "auto_tmm_enabled: boolean",
  "autorun_enabled: boolean",
  "autorun_on_torrent_added_enabled: boolean",
  "autorun_on_torrent_added_program: string",
  "autorun_program: string",
  "banned_IPs: string",
  "bittorrent_protocol: integer",
  "block_peers_on_privileged_ports: boolean",
  "bypass_auth_subnet_whitelist: string",
  "bypass_auth_subnet_whitelist_enabled: boolean",
  "bypass_local_auth: boolean",
  "category_changed_tmm_enabled: boolean",
  "checking_memory_use: integer",
  "connection_speed: integer",
  "current_interface_address: string",
  "current_network_interface: string",
  "dht: boolean",
  "disk_cache: integer",
  "disk_cache_ttl: integer",
  "disk_io_read_mode: integer",
  "disk_io_type: integer",
  "disk_io_write_mode: integer",
  "disk_queue_size: integer",
  "dl_limit: integer",
  "dont_count_slow_torrents: boolean",
  "dyndns_domain: string",
  "dyndns_enabled: boolean",
  "dyndns_password: string",
  "dyndns_service: integer",
  "dyndns_username: string",
  "embedded_tracker_port: integer",
  "embedded_tracker_port_forwarding: boolean",
  "enable_coalesce_read_write: boolean",
  "enable_embedded_tracker: boolean",
  "enable_multi_connections_from_same_ip: boolean",
  "enable_piece_extent_affinity: boolean",
  "enable_upload_suggestions: boolean",
  "encryption: integer",
  "excluded_file_names: string",
  "excluded_file_names_enabled: boolean",
  "export_dir: string",
  "export_dir_fin: string",
  "file_pool_size: integer",
  "hashing_threads: integer",
  "idn_support_enabled: boolean",
  "incomplete_files_ext: boolean",
  "ip_filter_enabled: boolean",
  "ip_filter_path: string",
  "ip_filter_trackers: boolean",
  "limit_lan_peers: boolean",
  "limit_tcp_overhead: boolean",
  "limit_utp_rate: boolean",
  "listen_port: integer",
  "locale: string",
  "lsd: boolean",
  "mail_notification_auth_enabled: boolean",
  "mail_notification_email: string",
  "mail_notification_enabled: boolean",
  "mail_notification_password: string",
  "mail_notification_sender: string",
  "mail_notification_smtp: string",
  "mail_notification_ssl_enabled: boolean",
  "mail_notification_username: string",
  "max_active_checking_torrents: integer",
  "max_active_downloads: integer",
  "max_active_torrents: integer",
  "max_active_uploads: integer",
  "max_concurrent_http_announces: integer",
  "max_connec: integer",
  "max_connec_per_torrent: integer",
  "max_ratio: integer",
  "max_ratio_act: integer",
  "max_ratio_enabled: boolean",
  "max_seeding_time: integer",
  "max_seeding_time_enabled: boolean",
  "max_uploads: integer",
  "max_uploads_per_torrent: integer",
  "memory_working_set_limit: integer",
  "outgoing_ports_max: integer",
  "outgoing_ports_min: integer",
  "peer_tos: integer",
  "peer_turnover: integer",
  "peer_turnover_cutoff: integer",
  "peer_turnover_interval: integer",
  "performance_warning: boolean",
  "pex: boolean",
  "preallocate_all: boolean",
  "proxy_auth_enabled: boolean",
  "proxy_hostname_lookup: boolean",
  "proxy_ip: string",
  "proxy_password: string",
  "proxy_peer_connections: boolean",
  "proxy_port: integer",
  "proxy_torrents_only: boolean",
  "proxy_type: integer",
  "proxy_username: string",
  "queueing_enabled: boolean",
  "random_port: boolean",
  "reannounce_when_address_changed: boolean",
  "recheck_completed_torrents: boolean",
  "refresh_interval: integer",
  "request_queue_size: integer",
  "resolve_peer_countries: boolean",
  "resume_data_storage_type: string",
  "rss_auto_downloading_enabled: boolean",
  "rss_download_repack_proper_episodes: boolean",
  "rss_max_articles_per_feed: integer",
  "rss_processing_enabled: boolean",
  "rss_refresh_interval: integer",
  "rss_smart_episode_filters: string",
  "save_path: string",
  "save_path_changed_tmm_enabled: boolean",
  "save_resume_data_interval: integer",
  "scan_dirs: object(empty)",
  "schedule_from_hour: integer",
  "schedule_from_min: integer",
  "schedule_to_hour: integer",
  "schedule_to_min: integer",
  "scheduler_days: integer",
  "scheduler_enabled: boolean",
  "send_buffer_low_watermark: integer",
  "send_buffer_watermark: integer",
  "send_buffer_watermark_factor: integer",
  "slow_torrent_dl_rate_threshold: integer",
  "slow_torrent_inactive_timer: integer",
  "slow_torrent_ul_rate_threshold: integer",
  "socket_backlog_size: integer",
  "ssrf_mitigation: boolean",
  "start_paused_enabled: boolean",
  "stop_tracker_timeout: integer",
  "temp_path: string",
  "temp_path_enabled: boolean",
  "torrent_changed_tmm_enabled: boolean",
  "torrent_content_layout: string",
  "torrent_stop_condition: string",
  "up_limit: integer",
  "upload_choking_algorithm: integer",
  "upload_slots_behavior: integer",
  "upnp: boolean",
  "upnp_lease_duration: integer",
  "use_category_paths_in_manual_mode: boolean",
  "use_https: boolean",
  "utp_tcp_mixed_mode: integer",
  "validate_https_tracker_certificate: boolean",
  "web_ui_address: string",
  "web_ui_ban_duration: integer",
  "web_ui_clickjacking_protection_enabled: boolean",
  "web_ui_csrf_protection_enabled: boolean",
  "web_ui_custom_http_headers: string",
  "web_ui_domain_list: string",
  "web_ui_host_header_validation_enabled: boolean",
  "web_ui_https_cert_path: string",
  "web_ui_https_key_path: string",
  "web_ui_max_auth_fail_count: integer",
  "web_ui_port: integer",
  "web_ui_reverse_proxies_list: string",
  "web_ui_reverse_proxy_enabled: boolean",
  "web_ui_secure_cookie_enabled: boolean",
  "web_ui_session_timeout: integer",
  "web_ui_upnp: boolean",
  "web_ui_use_custom_http_headers_enabled: boolean",
  "web_ui_username: string"
]

const jsonType = (v: unknown): string =>
  typeof v === "number" ? (Number.isInteger(v) ? "integer" : "number")
  : typeof v === "object" && v !== null ? (Object.keys(v).length === 0 ? "object(empty)" : "object")
  : typeof v

const shapeOf = (prefs: object): ReadonlyArray<string> =>
  Object.entries(prefs).map(([k, v]) => `${k}: ${jsonType(v)}`).sort()

const settings: SessionSettings = { ...defaultSettings, downloadDir: "/data/downloads", peerPort: 51413 }

/** setPreferences then preferences, as QbtApp.ts does it: the change applied, the kept keys stored. */
const roundTrip = (input: object, current: SessionSettings = settings, kept: object = {}) => {
  const update = applyPreferences(input, current)
  const after = { ...current, ...update.change }
  const stored = { ...kept, ...update.kept }
  return { update, after, stored, answer: preferences(after, stored) as unknown as Record<string, unknown> }
}

describe("QbtPreferences", () => {
  it("answers every key of qbittorrent-nox 4.5.2 with its type", () => {
    expect(shapes452).toHaveLength(174)
    expect(shapeOf(preferences(settings, {}))).toEqual([...shapes452].sort())
    expect(shapeOf(qbtPreferenceDefaults)).toEqual([...shapes452].sort())
    // Settings away from the defaults keep the types: fractional kB/s, goals on, seeds queued.
    const busy: SessionSettings = {
      ...settings, altSpeedDown: 10.24, altSpeedUp: 0.5, seedRatioLimited: true, seedRatioLimit: 2, seedTimeLimited: true,
      seedTimeLimit: 60, seedQueueEnabled: true, encryption: "tolerated", utpEnabled: false
    }
    expect(shapeOf(preferences(busy, {}))).toEqual([...shapes452].sort())
  })

  it("answers our settings in qBittorrent's terms", () => {
    const p = preferences({ ...settings, altSpeedDown: 50, speedLimitUp: 2048, altSpeedTimeBegin: 9 * 60 + 5, altSpeedTimeDay: 62 }, {})
    expect(p).toMatchObject({
      save_path: "/data/downloads", temp_path: "/downloads/incomplete", temp_path_enabled: false, listen_port: 51413,
      dht: true, pex: true, lsd: false, upnp: false, encryption: 0, bittorrent_protocol: 0,
      dl_limit: 0, up_limit: 2048, alt_dl_limit: 50000, alt_up_limit: 50000,
      schedule_from_hour: 9, schedule_from_min: 5, schedule_to_hour: 17, schedule_to_min: 0, scheduler_days: 1,
      queueing_enabled: true, max_active_downloads: 5, max_active_uploads: -1, max_active_torrents: -1,
      dont_count_slow_torrents: true, slow_torrent_inactive_timer: 1800,
      max_ratio_enabled: false, max_ratio: -1, max_seeding_time_enabled: false, max_seeding_time: -1, max_ratio_act: 0,
      auto_tmm_enabled: false
    })
    // Days no qBittorrent choice can say (Monday and Wednesday) read as every day.
    expect(preferences({ ...settings, altSpeedTimeDay: 2 + 8 }, {}).scheduler_days).toBe(0)
  })

  it("round trip: what is set is read back, the keys of our settings and those kept", () => {
    const mappedKeys = {
      save_path: "/data/tv", temp_path: "/data/partial", temp_path_enabled: true, auto_tmm_enabled: true,
      dl_limit: 1048576, up_limit: 524288, alt_dl_limit: 10240, alt_up_limit: 5120,
      scheduler_enabled: true, schedule_from_hour: 8, schedule_from_min: 30, schedule_to_hour: 20, schedule_to_min: 15,
      scheduler_days: 1, pex: false, encryption: 1,
      max_active_downloads: 4, max_active_uploads: 2, dont_count_slow_torrents: true, slow_torrent_inactive_timer: 90,
      max_ratio_enabled: true, max_ratio: 1.5, max_seeding_time_enabled: true, max_seeding_time: 120, max_ratio_act: 3
    }
    const keptKeys = {
      web_ui_ban_duration: 10, locale: "de", add_trackers: "udp://tracker.example:6969/announce", add_trackers_enabled: true,
      torrent_content_layout: "Subfolder", scan_dirs: { "/watch": 1 }, mail_notification_enabled: true, max_connec: 200,
      resume_data_storage_type: "SQLite"
    }
    const { update, answer } = roundTrip({ ...mappedKeys, ...keptKeys })
    expect(update.change).toEqual({
      downloadDir: "/data/tv", incompleteDir: "/data/partial", incompleteDirEnabled: true, autoManageByDefault: true,
      speedLimitDown: 1048576, speedLimitUp: 524288, altSpeedDown: 10, altSpeedUp: 5,
      altSpeedTimeEnabled: true, altSpeedTimeBegin: 8 * 60 + 30, altSpeedTimeEnd: 20 * 60 + 15, altSpeedTimeDay: 62,
      pexEnabled: false, encryption: "required",
      downloadQueueSize: 4, seedQueueEnabled: true, seedQueueSize: 2, queueStalledEnabled: true, queueStalledMinutes: 2,
      seedRatioLimited: true, seedRatioLimit: 1.5, seedTimeLimited: true, seedTimeLimit: 120, shareLimitAction: "removeData"
    })
    // Kept: the keys that are not our settings, and those our settings hold less finely.
    expect(update.kept).toEqual({ ...keptKeys, alt_dl_limit: 10240, alt_up_limit: 5120, scheduler_days: 1, slow_torrent_inactive_timer: 90 })
    expect(answer).toMatchObject({ ...mappedKeys, ...keptKeys })
  })

  it("a kept exact value yields to a change made elsewhere (the Transmission RPC)", () => {
    const { after, stored, answer } = roundTrip({ slow_torrent_inactive_timer: 90, scheduler_days: 9, alt_dl_limit: 10240, alt_up_limit: 400 })
    expect(after).toMatchObject({ queueStalledMinutes: 2, altSpeedTimeDay: 1, altSpeedDown: 10, altSpeedUp: 1 })
    expect(answer).toMatchObject({ slow_torrent_inactive_timer: 90, scheduler_days: 9, alt_dl_limit: 10240, alt_up_limit: 400 })
    const changed = preferences({ ...after, queueStalledMinutes: 5, altSpeedTimeDay: 65, altSpeedDown: 20 }, stored)
    expect(changed.slow_torrent_inactive_timer).toBe(300)
    expect(changed.scheduler_days).toBe(2)
    expect(changed.alt_dl_limit).toBe(20000)
    expect(changed.alt_up_limit).toBe(400)
  })

  it("turns goals and the seed queue off as qBittorrent answers them off", () => {
    const on: SessionSettings = { ...settings, seedRatioLimited: true, seedRatioLimit: 3, seedTimeLimited: true, seedTimeLimit: 60, seedQueueEnabled: true }
    const off = roundTrip({ max_ratio_enabled: false, max_seeding_time: -1, max_active_uploads: -1 }, on)
    expect(off.update.change).toEqual({ seedRatioLimited: false, seedTimeLimited: false, seedQueueEnabled: false })
    expect(off.answer).toMatchObject({ max_ratio_enabled: false, max_ratio: -1, max_seeding_time_enabled: false, max_seeding_time: -1, max_active_uploads: -1 })
    // The limits' -1 is "unlimited", ours 0.
    expect(applyPreferences({ dl_limit: -1, alt_up_limit: -1 }, settings).change).toEqual({ speedLimitDown: 0, altSpeedUp: 0 })
    // A ratio alone is enough; the other half of a schedule time keeps its value.
    expect(applyPreferences({ max_ratio: 0.5, schedule_to_min: 45 }, settings).change)
      .toEqual({ seedRatioLimited: true, seedRatioLimit: 0.5, altSpeedTimeEnd: 17 * 60 + 45 })
  })

  it("ignores values of the wrong type or out of range, and drops keys qBittorrent does not know", () => {
    const update = applyPreferences({
      dl_limit: "1000", pex: 1, save_path: 5, max_ratio: "2", web_ui_ban_duration: 1.5, locale: false,
      torrent_content_layout: "Sideways", encryption: 7, scheduler_days: 12, schedule_from_hour: 25, max_ratio_act: 2,
      temp_path: "relative/dir", max_seeding_time: 1.5, scan_dirs: { "/watch": true }, max_active_downloads: -1,
      unknown_key_xyz: 1, web_ui_password: "secret"
    }, settings)
    expect(update).toEqual({ change: {}, kept: {} })
    expect(applyPreferences("{}", settings)).toEqual({ change: {}, kept: {} })
    expect(applyPreferences([1, 2], settings)).toEqual({ change: {}, kept: {} })
    expect(applyPreferences(null, settings)).toEqual({ change: {}, kept: {} })
  })

  it("does not apply what is fixed at start: the port and DHT are answered as they are", () => {
    const { update, answer } = roundTrip({ listen_port: 1234, random_port: true, dht: false, lsd: true, upnp: true, queueing_enabled: false, max_active_torrents: 9 })
    expect(update).toEqual({ change: {}, kept: {} })
    expect(answer).toMatchObject({ listen_port: 51413, random_port: false, dht: true, lsd: false, upnp: false, queueing_enabled: true, max_active_torrents: -1 })
  })

  it("answers kept values of the wrong type as qBittorrent's defaults, and the API's own facts over kept ones", () => {
    const p = preferences(settings, { locale: 5, web_ui_port: 1, bogus: true, max_connec: 300 }, { web_ui_port: 9091, web_ui_username: "rpc" })
    expect(p.locale).toBe("C")
    expect(p.max_connec).toBe(300)
    expect(p.web_ui_port).toBe(9091)
    expect(p.web_ui_username).toBe("rpc")
    expect("bogus" in p).toBe(false)
  })
})
