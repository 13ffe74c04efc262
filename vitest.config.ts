import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Interop tests start real programs on fixed loopback ports; one file at a time keeps them apart.
    fileParallelism: true
  }
})
