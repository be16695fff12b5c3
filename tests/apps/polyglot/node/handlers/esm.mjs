import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { record } = require("../record.js");

// Top-level await: only an ES module can do this during init.
const loadedAt = await Promise.resolve(new Date().toISOString());

export const handler = async (event, context) => {
  if (event.Records) {
    record("esm", event, context);
    return { batchItemFailures: [] };
  }
  return { module: "esm", file: fileURLToPath(import.meta.url).split("/").slice(-2).join("/"), loadedAt,
           query: event.queryStringParameters ?? null };
};
