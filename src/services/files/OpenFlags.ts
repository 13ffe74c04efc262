/**
 * The flags files are opened with: never through a symbolic link (O_NOFOLLOW), so that a file swapped for
 * a link after it was checked fails to open rather than leading elsewhere. No Effect here: the hashing
 * worker (create/HashWorker.ts) opens its files with these too.
 */
import * as fs from "node:fs"

const noFollow = fs.constants.O_NOFOLLOW ?? 0
export const createFlags = fs.constants.O_RDWR | fs.constants.O_CREAT | noFollow
export const existingFlags = fs.constants.O_RDWR | noFollow
export const readOnlyFlags = fs.constants.O_RDONLY | noFollow
