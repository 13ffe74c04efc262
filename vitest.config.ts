import * as os from "node:os"
import * as path from "node:path"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // After vitest's own output: every skip with its reason, tests that did not run counted as failed, and
    // the count (test/support/summaryReporter.ts); .ci/run reads the count from BT_EFFECT_TEST_COUNTS.
    reporters: ["default", ["./test/support/summaryReporter.ts", { countsFile: process.env["BT_EFFECT_TEST_COUNTS"] }]],
    // Files run in parallel: interop tests pick free loopback ports, so real programs never collide.
    fileParallelism: true,
    // Commands run without --state keep resume data here, not in the user's state folder.
    // and the DHT starts from no node unless a test names local ones: never the public routers.
    env: { XDG_STATE_HOME: path.join(os.tmpdir(), "bt-effect-test-state"), BT_EFFECT_DHT_BOOTSTRAP: "" }
  }
})
