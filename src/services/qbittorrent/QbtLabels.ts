/**
 * The qBittorrent API's categories and tags (POST): a torrent put in a category or given tags, categories
 * created, edited and removed, tags created and deleted (domain/Categories.ts for the rules), with
 * qbittorrent-nox's answers: 409 "Incorrect category name" for a name that is not valid or a category that
 * does not exist, 409 "Unable to create category" for one that exists, 400 for an empty name. A category's
 * save path is held to the allowed folders (QbtFolders.ts).
 */
import * as Effect from "effect/Effect"
import { type Category, parseTags } from "../../domain/Categories.js"
import { type ActionOptions, done, folderFor, onHashes } from "./QbtTorrentActions.js"
import { type Endpoints, failure, fromControl, missing, type QbtCall } from "./QbtEndpoint.js"

/** A category from createCategory / editCategory's parameters, its folder checked; a reply when refused. */
const categoryOf = (call: QbtCall, options: ActionOptions) =>
  Effect.gen(function*() {
    const name = call.params.text("category")
    if (name === undefined) return missing
    if (name === "") return failure(400, "Category cannot be empty")
    const savePath = call.params.text("savePath") ?? ""
    if (savePath !== "") yield* folderFor(call.control, options, savePath)
    return { name, savePath } satisfies Category
  })

export const make = (options: ActionOptions): Endpoints => ({
    setCategory: onHashes((call, which) => {
      const category = call.params.text("category")
      if (category === undefined) return Effect.succeed(missing)
      return call.control.set(which, { category }).pipe(
        Effect.as(done),
        Effect.catchAll((e) => Effect.succeed(e.reason === "Conflict" ? failure(409, "Incorrect category name") : fromControl(e)))
      )
    }, ["category"]),
    createCategory: {
      post: true,
      run: (call) =>
        Effect.gen(function*() {
          const category = yield* categoryOf(call, options)
          if ("status" in category) return category
          yield* call.control.createCategory(category)
          return done
        }).pipe(Effect.catchAll((e) => Effect.succeed(e.reason === "Invalid" ? failure(409, "Incorrect category name")
          : e.reason === "Conflict" ? failure(409, "Unable to create category") : fromControl(e))))
    },
    editCategory: {
      post: true,
      run: (call) =>
        Effect.gen(function*() {
          const category = yield* categoryOf(call, options)
          if ("status" in category) return category
          yield* call.control.editCategory(category)
          return done
        }).pipe(Effect.catchAll((e) => Effect.succeed(e.reason === "Forbidden" ? fromControl(e) : failure(409, "Unable to edit category"))))
    },
    removeCategories: {
      post: true,
      run: (call) => {
        const names = call.params.text("categories")
        if (names === undefined) return Effect.succeed(missing)
        return call.control.removeCategories(names.split("\n").map((n) => n.trim()).filter((n) => n !== "")).pipe(
          Effect.as(done),
          Effect.catchAll((e) => Effect.succeed(fromControl(e)))
        )
      }
    },
    addTags: onHashes((call, which) => {
      const tags = call.params.text("tags")
      return tags === undefined ? Effect.succeed(missing) : Effect.as(call.control.set(which, { addTags: parseTags(tags) }), done)
    }, ["tags"]),
    removeTags: onHashes((call, which) =>
      Effect.gen(function*() {
        // No tags named (`tags` empty or absent: qBittorrent requires only `hashes`): all of each torrent's
        // tags go, as qBittorrent does.
        const given = parseTags(call.params.text("tags") ?? "")
        if (given.length > 0) yield* call.control.set(which, { removeTags: given })
        else for (const v of yield* call.control.torrents(which)) yield* call.control.set([v.id], { removeTags: v.tags })
        return done
      })),
    createTags: {
      post: true,
      run: (call) => Effect.as(call.control.createTags(parseTags(call.params.text("tags") ?? "")), done).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))
    },
    deleteTags: {
      post: true,
      run: (call) => Effect.as(call.control.deleteTags(parseTags(call.params.text("tags") ?? "")), done).pipe(Effect.catchAll((e) => Effect.succeed(fromControl(e))))
    }
})
