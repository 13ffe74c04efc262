import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel: interop tests pick free loopback ports, so real programs never collide.
    fileParallelism: true
  }
})
