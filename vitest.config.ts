import * as os from "node:os"
import * as path from "node:path"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel: interop tests pick free loopback ports, so real programs never collide.
    fileParallelism: true,
    // Commands run without --state keep resume data here, not in the user's state folder.
    // and the DHT starts from no node unless a test names local ones: never the public routers.
    env: { XDG_STATE_HOME: path.join(os.tmpdir(), "bt-effect-test-state"), BT_EFFECT_DHT_BOOTSTRAP: "" }
  }
})
