import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// In development `/api` goes to the functions under `cargo lambda watch`
// (scripts/run-local, port 9000); a build calls VITE_API_BASE_URL.
export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { "/api": "http://localhost:9000" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
  },
});
