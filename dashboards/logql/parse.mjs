#!/usr/bin/env node
// Parses LogQL expressions with Grafana's own grammar (@grafana/lezer-logql), the parser
// Grafana's query editor uses, so a query that fails here fails in Grafana too.
//
// Input: a JSON array of strings on stdin. Output: a JSON array on stdout, one object per
// input: {"query", "ok", "errors": [{"from", "to", "text"}], "tree"}. Exit code 0 even when
// queries are rejected: the caller decides; exit 2 only when the input itself is unusable.
import { parser } from "@grafana/lezer-logql";

// Grafana substitutes these before sending a query; parse what Loki would receive.
const SUBSTITUTIONS = [
  [/\$__auto\b/g, "1m"],
  [/\$__interval\b/g, "1m"],
  [/\$__range\b/g, "1h"],
  [/\$\{([A-Za-z0-9_]+)(:[a-z]+)?\}/g, "value"],
  [/\$([A-Za-z_][A-Za-z0-9_]*)/g, "value"],
];

function interpolate(query) {
  return SUBSTITUTIONS.reduce((q, [re, repl]) => q.replace(re, repl), query);
}

function check(query) {
  const text = interpolate(query);
  const tree = parser.parse(text);
  const errors = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, text: text.slice(node.from, node.to) });
      }
    },
  });
  return { query, parsed: text, ok: errors.length === 0, errors, tree: tree.toString() };
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  let queries;
  try {
    queries = JSON.parse(input);
  } catch (err) {
    process.stderr.write(`parse.mjs: stdin is not JSON: ${err.message}\n`);
    process.exit(2);
  }
  if (!Array.isArray(queries) || queries.some((q) => typeof q !== "string")) {
    process.stderr.write("parse.mjs: expected a JSON array of strings\n");
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(queries.map(check), null, 1) + "\n");
});
