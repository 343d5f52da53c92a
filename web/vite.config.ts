import { defineConfig } from "vite";

// The bundle ships inside the Python package (keyart/web/dashboard); file names are content
// hashes, so the same sources always give the same files.
export default defineConfig({
  base: "/",
  build: {
    outDir: "../keyart/web/dashboard",
    emptyOutDir: true,
    assetsDir: "ui",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 200,
  },
});
