// A fixture of test/summaryReporter.test.ts: a file that fails while it loads, before any test is declared.
throw new Error("the file failed to load")
